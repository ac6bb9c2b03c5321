#!/usr/bin/env bash
# Interop test: the official Python MCP SDK (`mcp` 1.x, whose experimental tasks client speaks
# the 2025-11-25 tasks) against `taskward serve`, over Streamable HTTP and over stdio.
# Creates (or reuses) a venv at target/interop-venv, builds the release binary, runs client.py.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/interop-venv
if [[ ! -x "${venv}/bin/python" ]]; then
  python3 -m venv "${venv}"
fi
if ! "${venv}/bin/python" -c 'import mcp.client.experimental' 2>/dev/null; then
  "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check "mcp>=1.23,<2"
fi

cargo build --release --quiet -p taskward-cli
target_dir="${CARGO_TARGET_DIR:-target}"
export TASKWARD_BIN="${TASKWARD_BIN:-${target_dir}/release/taskward}"

exec "${venv}/bin/python" tests/interop/client.py
