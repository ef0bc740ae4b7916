"""Over a real socket: serve_in_thread, and `hsprefs emulator serve` as a subprocess.

Answers of the subprocess are handed to the suite's judge (``check_against_spec``); those
of in-thread servers are recorded by it without help.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from reconciler.cli import run
from reconciler.emulator import EmulatorSettings, create_app, serve_in_thread

from .helpers import AUTH, EXAMPLE_SEED, REPO, V, check_against_spec, write_input

EMAIL = {"channel": "EMAIL"}


def test_serve_in_thread_answers_over_a_socket() -> None:
    """serve_in_thread yields a loopback URL that answers like HubSpot."""
    with serve_in_thread(EmulatorSettings(seed=EXAMPLE_SEED)) as url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        answer = httpx.get(f"{url}{V}/statuses/Alice%40Example.com", params=EMAIL, headers=AUTH)
    assert answer.status_code == 200
    assert answer.headers["server"] == "uvicorn"
    statuses = {s["subscriptionId"]: s["status"] for s in answer.json()["results"]}
    assert statuses[102] == "SUBSCRIBED"


def test_serve_in_thread_keeps_a_handle_on_the_app() -> None:
    """Passing an app lets the test reach its emulator state; the server stops at the end."""
    app = create_app(EmulatorSettings(rate_limit=0))
    with serve_in_thread(app=app) as url:
        httpx.get(f"{url}{V}/definitions", headers=AUTH)
        assert app.state.emulator.recorder.requests_json()["total"] == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}{V}/definitions", headers=AUTH)


def test_dropped_connection_over_a_socket(caplog: pytest.LogCaptureFixture) -> None:
    """The drop fault closes the connection mid-answer; no traceback is logged for it."""
    caplog.set_level(logging.INFO)
    with serve_in_thread(EmulatorSettings(fault_rate=1.0, faults=("drop",))) as url:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{url}{V}/definitions", headers=AUTH)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_slow_answer_passes_the_client_timeout() -> None:
    """The slow fault holds the answer past a client's read timeout (until released)."""
    app = create_app(EmulatorSettings(fault_rate=1.0, faults=("slow",), slow_ms=45_000))
    released = threading.Event()
    held: list[float] = []

    async def hold(seconds: float) -> None:
        # Stands in for the 45 s wait: the answer leaves only once the test lets it.
        held.append(seconds)
        while not released.is_set():
            await asyncio.sleep(0.005)

    app.state.emulator.sleep = hold
    with serve_in_thread(app=app) as url:
        try:
            with pytest.raises(httpx.ReadTimeout):
                httpx.get(
                    f"{url}{V}/definitions", headers=AUTH, timeout=httpx.Timeout(30.0, read=0.2)
                )
        finally:
            released.set()
    assert held == [45.0]


def test_concurrent_writes_over_a_socket() -> None:
    """Many clients writing at once all get answers and every write is stored."""
    app = create_app(EmulatorSettings(rate_limit=0))
    with serve_in_thread(app=app) as url, httpx.Client(base_url=url, headers=AUTH) as http:

        def write(n: int) -> int:
            item = write_input(f"c{n}@example.com", 101, "SUBSCRIBED")
            return http.post(f"{V}/statuses/batch/write", json={"inputs": [item]}).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(write, range(40)))
        statuses, _ = app.state.emulator.store.dump()
    assert codes == [200] * 40
    assert len(statuses) == 40


# The CLI, as a subprocess -----------------------------------------------------------


@contextmanager
def _cli(*args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """Start `hsprefs emulator serve`, wait for the two contract lines, stop it after."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0", *args]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env
    )
    lines: queue.Queue[str] = queue.Queue()

    def first_two_lines() -> None:
        assert proc.stdout is not None
        for _ in range(2):
            lines.put(proc.stdout.readline())

    threading.Thread(target=first_two_lines, daemon=True).start()
    try:
        got = [lines.get(timeout=30) for _ in range(2)]
        if not all(got):
            raise AssertionError("hsprefs emulator serve exited before its contract lines")
        yield proc, got
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out, err


def test_cli_prints_the_contract_lines_and_serves() -> None:
    """serve prints exactly the two contract lines, with the real port, and answers on them."""
    with _cli() as (proc, lines):
        url_line, token_line = lines
        match = re.fullmatch(r"HSPREFS_API_URL=(http://127\.0\.0\.1:(\d+))\n", url_line)
        assert match is not None
        assert int(match.group(2)) > 0
        assert token_line == "HUBSPOT_ACCESS_TOKEN=hsprefs-emulator-token\n"
        answer = httpx.get(f"{match.group(1)}{V}/definitions", headers=AUTH)
        check_against_spec(answer)
        assert answer.status_code == 200
        code, rest, err = _stop(proc)
    assert code == 0
    assert rest == ""
    assert "emulating portal 12345678" in err


def test_cli_token_flag_is_printed_and_accepted() -> None:
    """--token T is the token printed and a token with every scope."""
    with _cli("--token", "flag-token") as (proc, lines):
        url = lines[0].strip().split("=", 1)[1]
        assert lines[1] == "HUBSPOT_ACCESS_TOKEN=flag-token\n"
        answer = httpx.post(
            f"{url}{V}/statuses/batch/read",
            params=EMAIL,
            json={"inputs": ["a@example.com"]},
            headers={"Authorization": "Bearer flag-token"},
        )
        check_against_spec(answer)
        assert answer.status_code == 200
        assert _stop(proc)[0] == 0


def test_cli_stops_cleanly_on_ctrl_c() -> None:
    """SIGINT (Ctrl-C) stops the server with exit code 0."""
    with _cli("--quiet") as (proc, _lines):
        code, _out, err = _stop(proc, signal.SIGINT)
    assert code == 0
    assert "Traceback" not in err


def test_cli_state_survives_a_restart_with_db(tmp_path: Path) -> None:
    """With --db, a change made before a restart is there after it; the seed is not re-applied."""
    db = tmp_path / "demo.db"
    args = ("--db", str(db), "--seed", str(EXAMPLE_SEED))
    with _cli(*args) as (proc, lines):
        url = lines[0].strip().split("=", 1)[1]
        answer = httpx.post(
            f"{url}{V}/statuses/batch/unsubscribe-all",
            params=EMAIL,
            json={"inputs": ["grace@example.com"]},
            headers=AUTH,
        )
        check_against_spec(answer)
        assert answer.status_code == 200
        assert _stop(proc)[0] == 0
    with _cli(*args) as (proc, lines):
        url = lines[0].strip().split("=", 1)[1]
        wide = httpx.get(
            f"{url}{V}/statuses/grace@example.com/unsubscribe-all", params=EMAIL, headers=AUTH
        )
        check_against_spec(wide)
        assert [w["status"] for w in wide.json()["results"]] == ["UNSUBSCRIBED"]
        code, _out, err = _stop(proc)
    assert code == 0
    assert (
        f"hsprefs: note: {db} already holds state; the seed {EXAMPLE_SEED} was not applied" in err
    )


def test_cli_bad_seed_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid seed exits 1 with one line naming file:line:column; nothing on stdout."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("portal:\n  id: 1\nstatuses:\n  - {email: nope, subscription: '1', status: X}\n")
    assert run(["emulator", "serve", "--port", "0", "--seed", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(
        f"hsprefs: error: invalid seed: {bad}:4:13: error: statuses[0].email:"
    )


def test_cli_port_in_use_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A port that cannot be bound exits 1 with a hint."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run(["emulator", "serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"hsprefs: error: cannot listen on 127.0.0.1:{port}:")
    assert err.rstrip().endswith("(choose another --port, or --port 0 for a free one)")


def test_cli_bad_fault_kind_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --faults kind exits 1 naming the kinds."""
    assert run(["emulator", "serve", "--faults", "500,teapot"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "hsprefs: error: unknown fault kind 'teapot' (choose among 500, 502, 503, 504, 429, "
        "drop, slow, pending, lie or 'all')\n"
    )


def test_cli_unusable_database_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --db that is no SQLite database exits 1 naming it."""
    db = tmp_path / "notes.txt"
    db.write_text("not a database at all, " * 200)
    assert run(["emulator", "serve", "--port", "0", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"hsprefs: error: cannot use the database {db}: file is not a database "
        "(give --db a writable file path)\n"
    )


@pytest.mark.parametrize(
    ("family", "wildcard", "shown"),
    [(socket.AF_INET, "0.0.0.0", "127.0.0.1"), (socket.AF_INET6, "::", "[::1]")],
)
def test_url_of_a_wildcard_bind_is_loopback(family: int, wildcard: str, shown: str) -> None:
    """Bound to every interface, the printed URL is the loopback one hsprefs accepts."""
    from reconciler.emulator.server import url_for
    from reconciler.settings import check_api_url

    try:
        sock = socket.socket(family)
        sock.bind((wildcard, 0))
    except OSError:
        pytest.skip(f"no {wildcard} on this machine")
    with sock:
        url = url_for(sock)
        assert url == f"http://{shown}:{sock.getsockname()[1]}"
    assert check_api_url(url) == url
