"""Benchmark: ``hsprefs history`` over a year of journals (100,000 lines by default).

Writes twelve month files (``journal/YYYY-MM.jsonl``, as the GitHub Action commits them)
of generated journal lines for ``--people`` subscribers, then runs ``hsprefs history``
for one of them as a process of its own, in text and JSON, and reports its wall time,
CPU time and peak memory, next to the time a bare ``for line in file`` loop over the
same bytes takes. The history reads the files line by line and parses only the lines
that name the person, so its memory stays flat as the journals grow.

    .venv/bin/python bench/bench_history.py [--lines N] [--people N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(folder: Path, lines: int, people: int, seed: int = 16) -> str:
    """Month files holding ``lines`` journal lines; the address of one person in them."""
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    per_month = lines // 12
    for month in range(1, 13):
        with (folder / f"2026-{month:02d}.jsonl").open("w", encoding="utf-8") as handle:
            count = per_month if month < 12 else lines - per_month * 11
            for index in range(count):
                after = rnd.choice(["SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED"])
                record = {
                    "time": f"2026-{month:02d}-{1 + index % 28:02d}T10:00:{index % 60:02d}Z",
                    "operation": "write", "subscriber": f"user{rnd.randrange(people)}@example.com",
                    "brand": rnd.choice([0, 5]), "subscription_id": str(101 + rnd.randrange(5)),
                    "subscription": None, "before": "NOT_SPECIFIED", "after": after,
                    "legal_basis": "CONSENT_WITH_NOTICE" if after == "SUBSCRIBED" else None,
                    "legal_basis_explanation": "Signed up on the website"
                    if after == "SUBSCRIBED" else None,
                    "outcome": "confirmed", "result": "REQUESTED_CHANGE_OCCURRED",
                    "error": None, "correlation_id": f"c-{month}-{index}",
                    "plan_checksum": "sha256:" + "0" * 64, "portal_id": 12345678,
                    "config_commit": "1" * 40, "verified": None, "observed": None,
                    "verification_error": None,
                }  # fmt: skip
                handle.write(json.dumps(record) + "\n")
    return f"user{rnd.randrange(people)}@example.com"


def run_history(folder: Path, email: str, fmt: str) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak MB of one ``hsprefs history`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, email, str(folder), fmt, str(Path(__file__).parent)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"hsprefs history failed: {done.stderr}")
    peak = float(done.stdout.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, peak


_CHILD = """
import contextlib, io, sys
sys.path.insert(0, sys.argv[4])
from _memory import peak_rss_mb
from reconciler.cli import run
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = run(["history", sys.argv[1], "--journal", sys.argv[2], "--format", sys.argv[3]])
if code != 0:
    sys.exit(code)
print(peak_rss_mb())
"""


def bare_loop(folder: Path) -> float:
    start = time.perf_counter()
    for file in sorted(folder.glob("*.jsonl")):
        with file.open(encoding="utf-8") as handle:
            for _line in handle:
                pass
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "journal"
        email = generate(folder, options.lines, options.people)
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        loop = min(bare_loop(folder) for _ in range(options.repeat))
        print(f"journals: {options.lines} lines in 12 files, {size:.1f} MB; person {email}")
        print(f"bare line loop: {loop:.3f} s")
        for fmt in ("text", "json"):
            runs = [run_history(folder, email, fmt) for _ in range(options.repeat)]
            wall, cpu, peak = min(runs)
            print(f"history --format {fmt}: {wall:.3f} s wall, {cpu:.3f} s CPU, peak {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
