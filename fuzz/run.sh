#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time and exits non-zero when one finds a crash
# (a panic, an abort, a hang over 10 s for one input, or memory over 2 GB).
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]    # default: 30 s, every target
#
# cargo-fuzz is installed into target/tools when it is missing. The stable toolchain is
# enough: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags (the address sanitizer).
# Corpora grow in fuzz/corpus/<target>; crashes land in fuzz/artifacts/<target>.
set -euo pipefail

secs=${1:-30}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/target/tools"
export PATH="$tools/bin:$PATH"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz into $tools"
    cargo install cargo-fuzz --locked --root "$tools"
fi

cd "$root/fuzz"
if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${targets[*]}"
start=$(date +%s)
for target in "${targets[@]}"; do
    cargo fuzz build -O "$target"
done
echo "== built in $(($(date +%s) - start)) s"

failed=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    dirs=("corpus/$target")
    [ -d "seeds/$target" ] && dirs+=("seeds/$target")
    log="artifacts/$target/last-run.log"
    echo "== fuzzing $target for $secs s"
    status=0
    cargo fuzz run -O "$target" "${dirs[@]}" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    corpus=$(find "corpus/$target" -type f | wc -l)
    crashes=$(find "artifacts/$target" -type f ! -name last-run.log | wc -l)
    echo "$target: ${execs:-?} execs (${rate:-?}/s), corpus $corpus, peak rss ${rss:-?} MB, crashes $crashes, exit $status"
    if [ "$status" -ne 0 ]; then
        grep -E "panicked|ERROR|SUMMARY|Test unit written|timeout" "$log" | head -20 || true
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "== FAILED: ${failed[*]} (logs and inputs in fuzz/artifacts/)"
    exit 1
fi
echo "== no crash"
