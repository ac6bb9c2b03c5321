#!/usr/bin/env bash
# Interop check with the real fastmcp-tasks 4.x client (2026-07-28 tasks extension; sends no
# Mcp-Name on tasks/*) against `taskward serve --http`. Not part of CI: it installs about 70
# Python packages. Creates (or reuses) a venv at target/interop-fastmcp-venv, builds the
# release binary (or uses TASKWARD_BIN), runs fastmcp_client.py.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/interop-fastmcp-venv
if [[ ! -x "${venv}/bin/python" ]]; then
  python3 -m venv "${venv}"
fi
if ! "${venv}/bin/python" -c 'import fastmcp_tasks' 2>/dev/null; then
  "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check "fastmcp-tasks>=4.1,<5"
fi

if [[ -z "${TASKWARD_BIN:-}" ]]; then
  cargo build --release --quiet -p taskward-cli
  export TASKWARD_BIN="${CARGO_TARGET_DIR:-target}/release/taskward"
fi

exec "${venv}/bin/python" tests/interop/fastmcp_client.py
