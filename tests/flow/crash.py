"""The crash harness: SIGKILL ``hsprefs apply`` at any point, then check the evidence.

Against a real emulator process (``hsprefs emulator serve`` with latency, on its own
SQLite ``--db``), each round runs ``hsprefs apply --auto-approve`` as a process and
kills it with SIGKILL after a chosen delay: while planning, while calls are in flight,
while verifying, or after it ended. After each kill:

- the journal is valid JSON Lines up to its last complete line (each complete line
  matches schemas/journal.schema.json; only a last line without its newline may be cut);
- every input the emulator's write log holds has a journal line of its call (written
  ahead, so even a call whose answer never arrived is there);
- no write reached the emulator that the plan did not hold;
- the next plan shows exactly the changes not yet applied;
- the next apply settles what the killed run left unfinished and converges: every
  intent gets a result or recover line, and a plan after it has no changes.

Also: the emulator itself is SIGKILLed mid-apply and restarted on the same ``--db``;
its state is consistent (every status is one of the two values of this config) and a
batch is applied all or nothing.

Every kind of round runs in both API modes: batch, and single (a portal without the batch
scopes, where apply probes once in auto mode and then sends one call per change).
``python tests/flow/crash.py --rounds 40`` runs many rounds, alternating the modes
(``make soak``); the test suite runs a few of each (tests/flow/test_crash.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reconciler.emulator import DEFAULT_TOKEN  # noqa: E402
from reconciler.journal import unfinished  # noqa: E402
from reconciler.resources import load_schema  # noqa: E402
from tests.flow.apply_support import bulk_project  # noqa: E402

SUBSCRIPTION = "102"
WANT = "UNSUBSCRIBED"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Emulator:
    """A running ``hsprefs emulator serve`` process."""

    process: subprocess.Popen[bytes]
    url: str

    def admin(self, method: str, path: str) -> Any:
        response = httpx.request(method, f"{self.url}/_emulator/{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def _env(url: str, lock_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HSPREFS_API_URL=url,
        HUBSPOT_ACCESS_TOKEN=DEFAULT_TOKEN,
        HSPREFS_LOCK_DIR=str(lock_dir),
        PYTHONPATH=str(ROOT),
    )
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    return env


def start_emulator(
    seed: Path,
    db: Path,
    *,
    latency_ms: int,
    port: int | None = None,
    load: bool = True,
    mode: str = "batch",
) -> Emulator:
    """Start the emulator on ``db`` (seeded from ``seed`` when ``load``) and wait for it.
    In ``mode`` "single" the portal is Marketing Hub Professional: no token has the
    batch scopes, so apply (in auto mode) probes once and then sends single calls."""
    port = port or _free_port()
    args = [
        sys.executable, "-m", "reconciler", "emulator", "serve", "--port", str(port),
        "--db", str(db), "--rate-limit", "0", "--latency-ms", str(latency_ms),
    ]  # fmt: skip
    if mode == "single":
        args += ["--tier", "professional"]
    if load:
        args += ["--seed", str(seed)]
    process = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=_env("", db.parent),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_emulator/info", timeout=2).raise_for_status()
            return Emulator(process, url)
        except httpx.HTTPError:
            if process.poll() is not None:
                raise RuntimeError("the emulator did not start") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the emulator did not answer within 60 s")


def _sending_lines(journal: Path) -> int:
    try:
        return journal.read_bytes().count(b'"outcome": "sending"')
    except FileNotFoundError:
        return 0


def hsprefs(
    project: Path,
    url: str,
    *args: str,
    kill_after: float | None = None,
    kill_at_sending: int | None = None,
    journal: Path | None = None,
) -> subprocess.CompletedProcess[str] | None:
    """Run the CLI in ``project``; SIGKILL it after ``kill_after`` seconds, or as soon as
    ``journal`` holds ``kill_at_sending`` new sending lines (a call in flight), and
    return None then."""
    command = [sys.executable, "-m", "reconciler", *args]
    env = _env(url, project / "locks")
    if kill_after is None:
        return subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
        )
    process = subprocess.Popen(
        command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if kill_at_sending is not None and journal is not None:
        target = _sending_lines(journal) + kill_at_sending
        deadline = time.monotonic() + kill_after
        while process.poll() is None and time.monotonic() < deadline:
            if _sending_lines(journal) >= target:
                break
            time.sleep(0.005)
        kill_after = 0.0
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        return None
    return None


def journal_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete line of the journal, each checked against the schema; a line cut
    short is allowed only at the very end (no newline after it) or where a later run
    ended it (it is then not JSON, and skipped)."""
    if not path.exists():
        return []
    validator = jsonschema.Draft202012Validator(load_schema("journal.schema.json"))
    data = path.read_bytes()
    complete, _newline, tail = data.rpartition(b"\n")
    lines = []
    for raw in complete.split(b"\n") if complete else []:
        try:
            line = json.loads(raw)
        except ValueError:
            # Only a line a killed run cut short, ended by the next run's repair: it is
            # the start of a line and never a whole one.
            assert raw.startswith(b'{"time": "'), raw[:80]
            continue
        validator.validate(line)
        lines.append(line)
    if tail:
        assert tail.startswith(b'{"time": "'), tail[:80]
    return lines


def _statuses(emulator: Emulator, emails: list[str]) -> dict[str, str]:
    state = emulator.admin("GET", "state")
    found = dict.fromkeys(emails, "NOT_SPECIFIED")
    for row in state.get("statuses", []):
        if str(row.get("subscription")) == SUBSCRIPTION and row.get("email") in found:
            found[row["email"]] = row["status"]
    return found


def check_after_kill(
    project: Path, emulator: Emulator, emails: list[str], journal: Path
) -> dict[str, int]:
    """The checks after a kill (see the module docstring); returns a few counts."""
    lines = journal_lines(journal)
    journalled = {
        (line["subscriber"], line["subscription_id"]) for line in lines if line.get("call_id")
    }
    writes = emulator.admin("GET", "writes")["writes"]
    wanted = set(emails)
    for entry in writes:
        item = entry.get("input") or {}
        email = str(item.get("subscriberIdString", "")).lower()
        # no write the plan did not hold
        assert email in wanted, entry
        assert str(item.get("subscriptionId")) == SUBSCRIPTION, entry
        assert item.get("statusState") == WANT, entry
        # every input HubSpot saw has a journal line of its call
        assert (email, SUBSCRIPTION) in journalled, f"not journalled: {entry}"
    # the next plan holds exactly what is not applied yet
    statuses = _statuses(emulator, emails)
    left = sorted(email for email, status in statuses.items() if status != WANT)
    plan = hsprefs(project, emulator.url, "plan", "--format", "json")
    assert plan is not None and plan.returncode == 0, plan and plan.stderr
    planned = sorted(change["email"] for change in json.loads(plan.stdout)["changes"])
    assert planned == left, (planned, left)
    return {"writes": len(writes), "left": len(left), "intents": len(unfinished(journal))}


def check_converges(project: Path, emulator: Emulator, emails: list[str], journal: Path) -> None:
    """The next apply settles every unfinished intent and converges."""
    done = hsprefs(project, emulator.url, "apply", "--auto-approve", "--journal", journal.name)
    assert done is not None and done.returncode == 0, done and (done.stdout + done.stderr)
    assert unfinished(journal) == []
    statuses = _statuses(emulator, emails)
    assert set(statuses.values()) == {WANT}, statuses
    again = hsprefs(project, emulator.url, "plan", "--format", "json")
    assert again is not None and json.loads(again.stdout)["changes"] == []


@contextmanager
def crash_project(
    folder: Path, count: int, *, latency_ms: int, mode: str = "batch"
) -> Iterator[tuple[Path, Emulator, list[str]]]:
    """A project of ``count`` unsubscribes and its emulator (in API ``mode``), stopped
    afterwards."""
    project, seed = bulk_project(folder / "project", count)
    seed_file = folder / "seed.yaml"
    seed_file.write_text(yaml.safe_dump(seed))
    emulator = start_emulator(
        seed_file, folder / "emulator.sqlite", latency_ms=latency_ms, mode=mode
    )
    emails = [f"p{i:04d}@example.com" for i in range(count)]
    try:
        yield project, emulator, emails
    finally:
        emulator.kill()


APPLY = ("apply", "--auto-approve", "--batch-size", "4", "--concurrency", "2")


def kill_round(
    folder: Path,
    kill_after: float,
    *,
    count: int = 24,
    latency_ms: int = 60,
    at_sending: int | None = None,
    mode: str = "batch",
) -> dict[str, int]:
    """One round: kill apply after ``kill_after`` seconds (or when ``at_sending``
    sending lines are in the journal), check, converge; the counts after the kill.
    ``mode`` "single": against a portal without the batch scopes (one call a change)."""
    with crash_project(folder, count, latency_ms=latency_ms, mode=mode) as (
        project,
        emulator,
        emails,
    ):
        journal = project / "j.jsonl"
        hsprefs(
            project,
            emulator.url,
            *APPLY,
            "--journal",
            journal.name,
            kill_after=kill_after,
            kill_at_sending=at_sending,
            journal=journal,
        )
        counts = check_after_kill(project, emulator, emails, journal)
        check_converges(project, emulator, emails, journal)
        return counts


def twice_killed_round(folder: Path, first: float, second: float, mode: str = "batch") -> None:
    """Kill apply, then kill the apply that settles it too, then converge."""
    with crash_project(folder, 24, latency_ms=60, mode=mode) as (project, emulator, emails):
        journal = project / "j.jsonl"
        for delay in (first, second):
            hsprefs(project, emulator.url, *APPLY, "--journal", journal.name, kill_after=delay)
            check_after_kill(project, emulator, emails, journal)
        check_converges(project, emulator, emails, journal)


def emulator_killed_round(folder: Path, kill_after: float, mode: str = "batch") -> None:
    """Kill the emulator mid-apply, restart it on the same --db: consistent state, no
    half-applied batch, and the next apply converges."""
    with crash_project(folder, 24, latency_ms=60, mode=mode) as (project, emulator, emails):
        journal = project / "j.jsonl"
        port = int(emulator.url.rsplit(":", 1)[1])
        applying = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *APPLY, "--journal", journal.name],
            cwd=project,
            env=_env(emulator.url, project / "locks"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(kill_after)
        emulator.kill()
        applying.wait(timeout=300)
        db = folder / "emulator.sqlite"
        restarted = start_emulator(
            folder / "seed.yaml", db, latency_ms=0, port=port, load=False, mode=mode
        )
        try:
            statuses = _statuses(restarted, emails)
            assert set(statuses.values()) <= {"SUBSCRIBED", WANT}, statuses
            if mode == "batch":
                # a batch of 4 consecutive subscribers is applied all or nothing
                order = [statuses[email] for email in emails]
                for start in range(0, len(order), 4):
                    assert len(set(order[start : start + 4])) == 1, order
            journal_lines(journal)
            check_converges(project, restarted, emails, journal)
        finally:
            restarted.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--folder", type=Path, default=Path(".crash"))
    parser.add_argument(
        "--mode",
        choices=("batch", "single", "both"),
        default="both",
        help="API mode of the portal; both (the default) alternates, five rounds each",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.folder.mkdir(exist_ok=True)
    for number in range(args.rounds):
        folder = args.folder / f"round-{number:03d}"
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        folder.mkdir()
        kind = number % 5
        mode = args.mode
        if mode == "both":
            mode = "single" if (number // 5) % 2 else "batch"
        delay = rng.uniform(0.3, 3.5)
        if kind == 4:
            kill_round(folder, 60.0, latency_ms=300, at_sending=rng.randint(1, 24), mode=mode)
        elif kind == 3:
            emulator_killed_round(folder, delay, mode=mode)
        elif kind == 2:
            twice_killed_round(folder, delay, rng.uniform(0.3, 2.5), mode=mode)
        else:
            kill_round(folder, delay, mode=mode)
        print(
            f"round {number}: {mode} mode, kind {kind}, killed after {delay:.2f} s: ok", flush=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
