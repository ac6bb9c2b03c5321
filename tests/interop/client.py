#!/usr/bin/env python3
"""Interop test: the official Python MCP SDK against `taskward serve`.

Runs the same checks over Streamable HTTP (`taskward serve --http 127.0.0.1:PORT`) and over
stdio (`taskward serve --stdio`), with `mcp`'s experimental tasks client (revision
2025-11-25): capabilities, taskSupport, task-augmented calls, tasks/get, tasks/result (with
`ask_name`'s elicitation answered mid-task through the SDK's elicitation callback), tasks/list,
tasks/cancel, notifications, error codes, and the isolation of sessions. While the HTTP server
runs, the rmcp 3.x client tests (tests/interop-rmcp, 2026-07-28 tasks extension) are run against
that same process (`TASKWARD_URL`), so one server is seen serving both generations. A third run
serves with `--auth-token-file`: the SDK's client sends `Authorization: Bearer` and runs a task
end to end, and a missing or unknown token gets 401.

Prints one line per check ("ok  <check>" or "FAIL <check>: <why>") and ends with
"N passed, M failed"; exits non-zero when a check failed. Started by tests/interop/run.sh.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

# mcp 1.2x marks the experimental tasks API (and `streamablehttp_client`) deprecated.
warnings.filterwarnings("ignore", category=DeprecationWarning)

from mcp import ClientSession, McpError  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from mcp.client.streamable_http import streamablehttp_client  # noqa: E402
from mcp.types import CallToolResult  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("TASKWARD_BIN", ROOT / "target" / "release" / "taskward"))
LOGS = ROOT / "target"

# The server's settings for the run: a short poll interval keeps the test quick, and a
# maximum TTL of 600 s lets the test see the cap.
SERVER_ARGS = ["--poll-interval-ms", "200", "--max-ttl-secs", "600"]


def server_args() -> list[str]:
    """The server's options, with a data directory of its own: each server runs on the
    default (SQLite) store, and none shares another's database."""
    return [*SERVER_ARGS, "--data-dir", tempfile.mkdtemp(prefix="taskward-interop-")]
MAX_TTL_MS = 600_000

RELATED_TASK = "io.modelcontextprotocol/related-task"
INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
CHECK_TIMEOUT = 20.0

EXPECTED_TASK_SUPPORT = {
    "sleep": "optional",
    "count_primes": "optional",
    "fail": "optional",
    "crash": "optional",
    "echo": "forbidden",
    "ask_name": "required",
}

ASKED_NAME = "Ada"


class Elicitations:
    """Answers the server's `elicitation/create` requests (form mode) with ASKED_NAME, and
    remembers them."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    async def answer(self, context: Any, params: Any) -> Any:
        from mcp.types import ElicitResult

        self.seen.append(params)
        return ElicitResult(action="accept", content={"name": ASKED_NAME})


class Report:
    """Counts and prints the checks."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self, name: str) -> None:
        self.passed += 1
        print(f"ok  {name}", flush=True)

    def fail(self, name: str, why: str) -> None:
        self.failed += 1
        print(f"FAIL {name}: {why}", flush=True)

    async def check(self, name: str, body: Callable[[], Awaitable[None]]) -> bool:
        """Runs one check: passes unless it raises or takes longer than CHECK_TIMEOUT."""
        try:
            await asyncio.wait_for(body(), CHECK_TIMEOUT)
        except asyncio.TimeoutError:
            self.fail(name, f"no answer within {CHECK_TIMEOUT:.0f} s")
            return False
        except Exception as err:  # noqa: BLE001 - any failure is the check's
            self.fail(name, describe(err))
            return False
        self.ok(name)
        return True


def describe(err: BaseException) -> str:
    if isinstance(err, McpError):
        return f"MCP error {err.error.code}: {err.error.message}"
    group = getattr(builtins, "BaseExceptionGroup", None)  # Python 3.11+
    if group is not None and isinstance(err, group):
        return "; ".join(describe(e) for e in err.exceptions)
    text = str(err) or type(err).__name__
    return text


def expect(condition: bool, why: str) -> None:
    if not condition:
        raise AssertionError(why)


async def expect_error(code: int, call: Awaitable[Any]) -> McpError:
    """Awaits `call` and checks that it fails with the JSON-RPC error `code`."""
    try:
        answer = await call
    except McpError as err:
        expect(err.error.code == code, f"expected error {code}, got {err.error.code}: {err.error.message}")
        return err
    raise AssertionError(f"expected error {code}, got an answer: {answer!r}")


class Inbox:
    """The notifications a session received."""

    def __init__(self) -> None:
        self.notifications: list[tuple[str, dict[str, Any]]] = []
        self.elicitations = Elicitations()

    async def handle(self, message: Any) -> None:
        root = getattr(message, "root", None)
        method = getattr(root, "method", None)
        if method is None:
            return
        params = getattr(root, "params", None)
        dumped = params.model_dump(by_alias=True, exclude_none=True) if params is not None else {}
        self.notifications.append((method, dumped))

    async def wait_for(self, what: str, match: Callable[[str, dict[str, Any]], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(match(m, p) for m, p in self.notifications):
                return
            await asyncio.sleep(0.05)
        seen = sorted({m for m, _ in self.notifications})
        raise AssertionError(f"no {what} within {timeout:.0f} s (seen: {seen or 'nothing'})")


Connect = Callable[[], contextlib.AbstractAsyncContextManager]


async def wait_terminal(session: ClientSession, task_id: str) -> Any:
    """Polls with `poll_task` (which respects pollInterval) until the task is terminal."""
    last = None
    async for status in session.experimental.poll_task(task_id):
        last = status
    expect(last is not None, "poll_task yielded nothing")
    return last


async def list_all(session: ClientSession) -> list[Any]:
    tasks: list[Any] = []
    cursor = None
    while True:
        page = await session.experimental.list_tasks(cursor)
        tasks.extend(page.tasks)
        cursor = page.nextCursor
        if not cursor:
            return tasks


async def suite(report: Report, label: str, connect: Callable[[Inbox], Any], status_url: str | None) -> None:
    """The checks, over one transport. `connect(inbox)` opens an initialized session."""

    def name(text: str) -> str:
        return f"[{label}] {text}"

    inbox = Inbox()
    async with connect(inbox) as (session, init):
        created: dict[str, str] = {}

        async def capabilities() -> None:
            tasks = init.capabilities.tasks
            expect(tasks is not None, "no tasks capability")
            expect(tasks.list is not None, "no tasks.list")
            expect(tasks.cancel is not None, "no tasks.cancel")
            expect(
                tasks.requests is not None and tasks.requests.tools is not None and tasks.requests.tools.call is not None,
                "no tasks.requests.tools.call",
            )

        await report.check(name("initialize declares tasks {list, cancel, requests.tools.call}"), capabilities)

        async def tool_list() -> None:
            tools = (await session.list_tools()).tools
            seen = {t.name: (t.execution.taskSupport if t.execution else None) for t in tools}
            expect(seen == EXPECTED_TASK_SUPPORT, f"taskSupport {seen}")
            for tool in tools:
                expect(tool.inputSchema.get("type") == "object", f"{tool.name} has no object inputSchema")

        await report.check(name("tools/list gives each tool's execution.taskSupport"), tool_list)

        async def plain_echo() -> None:
            result = await session.call_tool("echo", {"text": "hello"})
            expect(not result.isError and result.content[0].text == "hello", f"got {result!r}")

        await report.check(name("plain tools/call of echo answers its text"), plain_echo)

        async def primes() -> None:
            started = time.monotonic()
            create = await session.experimental.call_tool_as_task("count_primes", {"limit": 10_000_000})
            task_id = create.task.taskId
            created["count_primes"] = task_id
            expect(create.task.status == "working", f"created {create.task.status}")
            expect(create.task.createdAt is not None, "no createdAt")
            final = await wait_terminal(session, task_id)
            expect(final.status == "completed", f"ended {final.status}: {final.statusMessage}")
            result = await session.experimental.get_task_result(task_id, CallToolResult)
            count = (result.structuredContent or {}).get("count")
            expect(count == 664579, f"count {count}")
            expect(result.content[0].text == "664579 primes below 10000000", f"text {result.content[0].text!r}")
            related = (result.meta or {}).get(RELATED_TASK, {})
            expect(related.get("taskId") == task_id, f"_meta {result.meta}")
            elapsed = time.monotonic() - started
            expect(elapsed < 10, f"took {elapsed:.1f} s")

        await report.check(
            name("count_primes(10_000_000) as a task: completed, tasks/result has count 664579 and related-task"),
            primes,
        )

        sleeper: dict[str, str] = {}

        async def sleep_progress() -> None:
            create = await session.experimental.call_tool_as_task(
                "sleep", {"seconds": 30}, meta={"progressToken": "sleep-1"}
            )
            sleeper["id"] = create.task.taskId
            created["sleep"] = create.task.taskId
            await inbox.wait_for(
                "notifications/progress with token sleep-1",
                lambda m, p: m == "notifications/progress" and p.get("progressToken") == "sleep-1",
            )

        await report.check(name("sleep(30) as a task: notifications/progress with the request's token"), sleep_progress)

        async def cancel() -> None:
            task_id = sleeper["id"]
            cancelled = await session.experimental.cancel_task(task_id)
            expect(cancelled.status == "cancelled", f"cancel answered {cancelled.status}")
            got = await session.experimental.get_task(task_id)
            expect(got.status == "cancelled", f"tasks/get says {got.status}")

        await report.check(name("tasks/cancel answers the task cancelled, and tasks/get reads cancelled"), cancel)

        async def status_notification() -> None:
            task_id = sleeper["id"]
            await inbox.wait_for(
                "notifications/tasks/status cancelled",
                lambda m, p: m == "notifications/tasks/status" and p.get("taskId") == task_id and p.get("status") == "cancelled",
            )

        await report.check(name("notifications/tasks/status tells the cancel"), status_notification)

        async def cancel_terminal() -> None:
            await expect_error(INVALID_PARAMS, session.experimental.cancel_task(sleeper["id"]))

        await report.check(name("tasks/cancel of a terminal task is -32602"), cancel_terminal)

        async def fail() -> None:
            create = await session.experimental.call_tool_as_task("fail", {"message": "boom"})
            task_id = create.task.taskId
            created["fail"] = task_id
            final = await wait_terminal(session, task_id)
            expect(final.status == "failed", f"ended {final.status}")
            expect("boom" in (final.statusMessage or ""), f"statusMessage {final.statusMessage!r}")
            result = await session.experimental.get_task_result(task_id, CallToolResult)
            expect(result.isError and result.content[0].text == "boom", f"tasks/result {result!r}")

        await report.check(name("fail as a task: failed (isError), tasks/result is the isError result"), fail)

        async def crash() -> None:
            create = await session.experimental.call_tool_as_task("crash", {})
            task_id = create.task.taskId
            created["crash"] = task_id
            final = await wait_terminal(session, task_id)
            expect(final.status == "failed", f"ended {final.status}")
            expect("panic" in (final.statusMessage or ""), f"statusMessage {final.statusMessage!r}")

        await report.check(name("crash as a task: failed, statusMessage says it panicked"), crash)

        async def ask_name() -> None:
            create = await session.experimental.call_tool_as_task("ask_name", {})
            task_id = create.task.taskId
            created["ask_name"] = task_id
            while (status := await session.experimental.get_task(task_id)).status != "input_required":
                expect(status.status == "working", f"status {status.status}")
                await asyncio.sleep(0.05)
            # tasks/result delivers the queued elicitation/create; the callback answers it.
            result = await session.experimental.get_task_result(task_id, CallToolResult)
            expect(result.content[0].text == f"Hello, {ASKED_NAME}!", f"tasks/result {result!r}")
            asked = inbox.elicitations.seen
            expect(len(asked) == 1, f"{len(asked)} elicitations")
            meta = (asked[0].meta.model_dump(by_alias=True) if asked[0].meta else {}) or {}
            expect(meta.get(RELATED_TASK, {}).get("taskId") == task_id, f"elicitation _meta {meta!r}")
            final = await session.experimental.get_task(task_id)
            expect(final.status == "completed", f"ended {final.status}")

        await report.check(
            name("ask_name as a task: input_required, tasks/result delivers elicitation/create, answered"), ask_name
        )

        async def echo_task() -> None:
            await expect_error(METHOD_NOT_FOUND, session.experimental.call_tool_as_task("echo", {"text": "x"}))

        await report.check(name("echo (taskSupport forbidden) as a task is -32601"), echo_task)

        async def ttl_cap() -> None:
            create = await session.experimental.call_tool_as_task("sleep", {"seconds": 0}, ttl=10**10)
            created["ttl"] = create.task.taskId
            expect(create.task.ttl == MAX_TTL_MS, f"ttl {create.task.ttl}, expected the cap {MAX_TTL_MS}")

        await report.check(name("a TTL above the maximum is capped and reported"), ttl_cap)

        async def unknown() -> None:
            await expect_error(INVALID_PARAMS, session.experimental.get_task("0b7a1c2e-0000-4000-8000-000000000000"))
            await expect_error(INVALID_PARAMS, session.experimental.get_task("not-a-task-id"))

        await report.check(name("tasks/get of an unknown id is -32602"), unknown)

        async def listing() -> None:
            listed = {t.taskId for t in await list_all(session)}
            missing = set(created.values()) - listed
            expect(not missing, f"tasks/list misses {sorted(missing)}")

        await report.check(name("tasks/list lists the session's tasks"), listing)

        victim: dict[str, str] = {}

        async def start_victim() -> None:
            create = await session.experimental.call_tool_as_task("sleep", {"seconds": 30})
            victim["id"] = create.task.taskId

        await report.check(name("a second long task starts"), start_victim)

        if status_url is not None:

            async def status_json() -> None:
                answer = await run_status(["--json"], status_url)
                status = json.loads(answer)
                expect(status["registry"]["live"] >= 1, f"registry {status['registry']}")
                live = {t["taskId"]: t for t in status["tasks"]}
                expect(victim.get("id") in live, f"the live task is not in /status: {list(live)}")
                expect(live[victim["id"]]["name"] == "sleep", f"{live[victim['id']]}")

            await report.check(name("taskward status --json shows the registry and the live task"), status_json)

            async def status_text() -> None:
                answer = await run_status([], status_url)
                expect(answer.startswith("registry: "), f"first line {answer.splitlines()[:1]}")
                expect(victim.get("id", "?") in answer, "the live task is not listed")

            await report.check(name("taskward status prints a line per live task"), status_text)

        async with connect(Inbox()) as (other, _):

            async def foreign_get() -> None:
                for task_id in [*created.values(), victim.get("id", "")]:
                    await expect_error(INVALID_PARAMS, other.experimental.get_task(task_id))
                    await expect_error(INVALID_PARAMS, other.experimental.get_task_result(task_id, CallToolResult))

            await report.check(name("a second session's tasks/get and tasks/result of the first's tasks are -32602"), foreign_get)

            async def foreign_list() -> None:
                listed = {t.taskId for t in await list_all(other)}
                leaked = listed & {*created.values(), victim.get("id", "")}
                expect(not leaked, f"tasks/list of the second session shows {sorted(leaked)}")

            await report.check(name("a second session's tasks/list does not show the first's tasks"), foreign_list)

            async def foreign_cancel() -> None:
                await expect_error(INVALID_PARAMS, other.experimental.cancel_task(victim["id"]))
                got = await session.experimental.get_task(victim["id"])
                expect(got.status == "working", f"the first session's task is {got.status}")

            await report.check(name("a second session cannot cancel the first's task (-32602)"), foreign_cancel)

        async def cleanup() -> None:
            task_id = victim["id"]
            cancelled = await session.experimental.cancel_task(task_id)
            expect(cancelled.status == "cancelled", f"cancel answered {cancelled.status}")
            # Wait for the last notification before closing: the SDK's stdio reader fails
            # (BrokenResourceError) on a message that arrives after its session closed.
            await inbox.wait_for(
                "notifications/tasks/status cancelled",
                lambda m, p: m == "notifications/tasks/status" and p.get("taskId") == task_id and p.get("status") == "cancelled",
            )

        await report.check(name("the first session cancels its own task"), cleanup)


async def run_status(args: list[str], url: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        str(BINARY), "status", "--url", url, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    expect(proc.returncode == 0, f"taskward status exited {proc.returncode}: {err.decode().strip()}")
    return out.decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_listening(proc: subprocess.Popen, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"the server did not listen on port {port} within {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> int:
    """Asks the server to stop (SIGTERM), and kills it if it has not within 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


async def over_http(report: Report) -> None:
    port = free_port()
    log = open(LOGS / "interop-http-server.log", "wb")
    proc = subprocess.Popen(
        [str(BINARY), "serve", "--http", f"127.0.0.1:{port}", *server_args()],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
    )
    try:
        await wait_listening(proc, port)
        url = f"http://127.0.0.1:{port}/mcp"

        @contextlib.asynccontextmanager
        async def connect(inbox: Inbox) -> AsyncIterator[tuple[ClientSession, Any]]:
            async with streamablehttp_client(url) as (read, write, _session_id):
                async with ClientSession(
                    read, write, read_timeout_seconds=timedelta(seconds=CHECK_TIMEOUT),
                    message_handler=inbox.handle,
                    elicitation_callback=inbox.elicitations.answer,
                ) as session:
                    yield session, await session.initialize()

        await suite(report, "http", connect, f"http://127.0.0.1:{port}")
        await rmcp_against(report, url)
    except Exception as err:  # noqa: BLE001
        report.fail("[http] the run", describe(err))
    finally:
        code = stop(proc)
        log.close()
    if code == 0:
        report.ok("[http] the server stops cleanly on SIGTERM")
    else:
        report.fail("[http] the server stops cleanly on SIGTERM", f"exit code {code}")


# A token file for the run with authentication: the client's token, and an operator's for
# `taskward status`.
CLIENT_TOKEN = "interop-client-token-0123456789"
OPERATOR_TOKEN = "interop-operator-token-012345"


def raw_post(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """POSTs an `initialize` with plain urllib, and returns the status, headers and body
    (an HTTP error included)."""
    import urllib.error
    import urllib.request

    body = json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
    }).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers,
    })
    try:
        with urllib.request.urlopen(request, timeout=CHECK_TIMEOUT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


async def over_http_with_auth(report: Report) -> None:
    """`serve --auth-token-file`: the SDK's client with a bearer token runs a task end to end;
    a missing or unknown token is refused with 401 and the metadata's address."""
    port = free_port()
    tokens = LOGS / "interop-tokens"
    tokens.write_text(f"# interop run\n{CLIENT_TOKEN} python\n{OPERATOR_TOKEN} ops operator\n")
    log = open(LOGS / "interop-http-auth-server.log", "wb")
    proc = subprocess.Popen(
        [str(BINARY), "serve", "--http", f"127.0.0.1:{port}", "--auth-token-file", str(tokens), *server_args()],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    name = "[http+auth] {}".format
    try:
        await wait_listening(proc, port)

        async def task_with_token() -> None:
            headers = {"Authorization": f"Bearer {CLIENT_TOKEN}"}
            async with streamablehttp_client(url, headers=headers) as (read, write, _session_id):
                async with ClientSession(read, write, read_timeout_seconds=timedelta(seconds=CHECK_TIMEOUT)) as session:
                    await session.initialize()
                    create = await session.experimental.call_tool_as_task("count_primes", {"limit": 100_000})
                    final = await wait_terminal(session, create.task.taskId)
                    expect(final.status == "completed", f"ended {final.status}: {final.statusMessage}")
                    result = await session.experimental.get_task_result(create.task.taskId, CallToolResult)
                    count = (result.structuredContent or {}).get("count")
                    expect(count == 9592, f"count {count}")

        await report.check(name("with a bearer token: count_primes(100_000) as a task, tasks/result has 9592"), task_with_token)

        metadata = f'resource_metadata="http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"'

        async def refused() -> None:
            for what, headers in [("no token", {}), ("an unknown token", {"Authorization": "Bearer not-a-known-token-0000"})]:
                status, answer_headers, _ = await asyncio.to_thread(raw_post, url, headers)
                challenge = {k.lower(): v for k, v in answer_headers.items()}.get("www-authenticate", "")
                expect(status == 401, f"{what}: HTTP {status}")
                expect(metadata in challenge, f"{what}: WWW-Authenticate {challenge!r}")

        await report.check(name("no token, or an unknown one: 401 with WWW-Authenticate resource_metadata"), refused)

        async def status_as_operator() -> None:
            operator = LOGS / "interop-operator-token"
            operator.write_text(f"{OPERATOR_TOKEN}\n")
            out = await run_status(["--json", "--token-file", str(operator)], f"http://127.0.0.1:{port}")
            expect(isinstance(json.loads(out), dict), f"status {out[:200]!r}")

        await report.check(name("taskward status --token-file reads /status as an operator"), status_as_operator)
    except Exception as err:  # noqa: BLE001
        report.fail(name("the run"), describe(err))
    finally:
        stop(proc)
        log.close()


async def rmcp_against(report: Report, url: str) -> None:
    """Runs the rmcp 3.x client tests (2026-07-28, tasks extension) against this same server
    process, so that one process is seen serving both generations."""
    check = "[http] the rmcp 3.x client (2026-07-28 tasks extension) passes against this same server process"
    cargo = os.environ.get("CARGO", "cargo")
    proc = await asyncio.create_subprocess_exec(
        cargo, "test", "--quiet", "-p", "taskward-interop-rmcp", "--test", "rmcp_client",
        cwd=ROOT, env={**os.environ, "TASKWARD_URL": url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=900)
    except asyncio.TimeoutError:
        proc.kill()
        report.fail(check, "timed out")
        return
    text = out.decode(errors="replace")
    passed = [line for line in text.splitlines() if line.startswith("test result:")]
    if proc.returncode == 0:
        report.ok(f"{check} ({passed[-1] if passed else 'ok'})")
    else:
        report.fail(check, text[-2000:])


async def over_stdio(report: Report) -> None:
    log = open(LOGS / "interop-stdio-server.log", "w")
    @contextlib.asynccontextmanager
    async def connect(inbox: Inbox) -> AsyncIterator[tuple[ClientSession, Any]]:
        # A server per connection, each with a data directory of its own.
        params = StdioServerParameters(command=str(BINARY), args=["serve", "--stdio", *server_args()])
        async with stdio_client(params, errlog=log) as (read, write):
            async with ClientSession(
                read, write, read_timeout_seconds=timedelta(seconds=CHECK_TIMEOUT),
                    message_handler=inbox.handle,
                    elicitation_callback=inbox.elicitations.answer,
            ) as session:
                yield session, await session.initialize()

    try:
        await suite(report, "stdio", connect, None)
    except Exception as err:  # noqa: BLE001
        report.fail("[stdio] the run", describe(err))
    finally:
        log.close()


async def main() -> int:
    if not BINARY.is_file():
        print(f"FAIL setup: no binary at {BINARY} (cargo build --release -p taskward-cli)")
        print("0 passed, 1 failed")
        return 1
    import importlib.metadata

    print(f"mcp {importlib.metadata.version('mcp')} against {BINARY.relative_to(ROOT) if BINARY.is_relative_to(ROOT) else BINARY}", flush=True)
    report = Report()
    started = time.monotonic()
    await over_http(report)
    await over_http_with_auth(report)
    await over_stdio(report)
    print(f"({time.monotonic() - started:.1f} s)")
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
