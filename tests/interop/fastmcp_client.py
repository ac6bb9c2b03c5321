#!/usr/bin/env python3
"""Interop check: the real fastmcp-tasks 4.x client (2026-07-28 tasks extension, on the mcp
2.x Python SDK) against `taskward serve --http`. It sends `MCP-Protocol-Version` and
`Mcp-Method` but no `Mcp-Name` on `tasks/*`, which the server must accept.

Checks: a task polled to its result, an input request answered through `tasks/update` (the
client's elicitation handler), the transparent `call_tool` of a required-task tool, and
`tasks/cancel`. Prints "ok <check>" or "FAIL <check>: <why>" per check and "N passed, M
failed"; exits non-zero on a failure. Started by tests/interop/run-fastmcp.sh.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fastmcp_tasks  # noqa: F401  (registers the tasks client extension)
from fastmcp import Client
from fastmcp_tasks import call_tool_task

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("TASKWARD_BIN", ROOT / "target" / "release" / "taskward"))
TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def answer_name(message, response_type, params, context):
    return {"name": "Luca"}


async def checks(url: str) -> list[tuple[str, str | None]]:
    results: list[tuple[str, str | None]] = []

    async def check(name, body):
        try:
            await asyncio.wait_for(body(), TIMEOUT)
            results.append((name, None))
        except Exception as e:  # noqa: BLE001
            results.append((name, f"{type(e).__name__}: {e}"))

    async with Client(url, mode="auto", elicitation_handler=answer_name) as c:

        async def polled():
            t = await call_tool_task(c, "sleep", {"seconds": 0.2})
            r = await t.result()
            assert r.content[0].text == "slept 0.2 s", r

        async def updated():
            t = await call_tool_task(c, "ask_name", {})
            r = await t.result()
            assert r.content[0].text == "Hello, Luca!", r

        async def transparent():
            r = await c.call_tool("ask_name", {})
            assert r.content[0].text == "Hello, Luca!", r

        async def cancelled():
            t = await call_tool_task(c, "sleep", {"seconds": 60})
            await t.cancel()
            s = await t.wait(state="cancelled", timeout=TIMEOUT)
            assert s.status == "cancelled", s

        await check("sleep as a task: tasks/get polled to the result", polled)
        await check("ask_name as a task: input answered through tasks/update", updated)
        await check("call_tool of a required-task tool resolves transparently", transparent)
        await check("tasks/cancel: the task ends cancelled", cancelled)
    return results


def main() -> int:
    port = free_port()
    log = open(ROOT / "target" / "interop-fastmcp-server.log", "w")
    server = subprocess.Popen(
        [
            str(BINARY), "serve", "--http", f"127.0.0.1:{port}", "--poll-interval-ms", "100",
            "--data-dir", tempfile.mkdtemp(prefix="taskward-fastmcp-"),
        ],
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        results = asyncio.run(checks(f"http://127.0.0.1:{port}/mcp"))
    finally:
        server.terminate()
        server.wait(10)
    failed = 0
    for name, why in results:
        if why is None:
            print(f"ok  {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {why}")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed or len(results) < 4 else 0


if __name__ == "__main__":
    sys.exit(main())
