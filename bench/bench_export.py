"""Benchmark: ``hsprefs export`` of 100,000 subscribers, peak memory and time.

The emulator runs in its own process (``hsprefs emulator serve``, rate limits off, so
the numbers are hsprefs' own cost, not HubSpot's budget); the export runs in a fresh
process per measurement, and reports its own peak resident memory as it ends (VmHWM,
see ``_memory.py``; the kernel's ``ru_maxrss`` would include this script's own size).
Export streams: it keeps the sorted list of addresses and one chunk of live statuses
at a time, so its memory should grow with the address list only, not with the
statuses. To show that, the same export is measured for a small list first, and the
growth is reported next to the size of the output.

Also checks the calls made: per chunk ⌈chunk/batch⌉ status reads and as many wide
reads, plus one account-info and one ``/definitions`` call (docs/architecture.md#minimal-calls).

    .venv/bin/python bench/bench_export.py [--subscribers N] [--small N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _emulator import start_emulator

BENCH = Path(__file__).resolve().parent
# Runs the CLI in the child, then prints that process's own peak memory as the last line.
CHILD = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); from _memory import peak_rss_mb; "
    "from reconciler.cli import run; code = run(sys.argv[1:]); print(peak_rss_mb()); "
    "sys.exit(code)"
)

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ("Newsletter", "Product Updates", "Events", "Offers", "Webinars")
BASES = ("CONSENT_WITH_NOTICE", "LEGITIMATE_INTEREST_CLIENT", "PERFORMANCE_OF_CONTRACT")


def write_seed(path: Path, subscribers: int, rnd: random.Random) -> None:
    """A portal where about half the subscribers have explicit statuses and 2 % opted out."""
    lines = [
        "version: 1",
        "portal: {id: 12345678, gdpr: true}",
        "brands: [{id: 0, name: Account}]",
        "definitions:",
    ]
    for index, name in enumerate(DEFINITIONS):
        lines.append(f'  - {{id: "{101 + index}", business_unit: 0, name: "{name}"}}')
    lines += ["tokens: [{token: bench-token, name: bench, scopes: all}]", "statuses:"]
    opted: list[str] = []
    for number in range(subscribers):
        email = f"user{number:06d}@example.com"
        roll = rnd.random()
        if roll < 0.02:
            opted.append(email)
            continue
        if roll > 0.5:
            continue
        for index in rnd.sample(range(len(DEFINITIONS)), 2):
            status = rnd.choice(("SUBSCRIBED", "UNSUBSCRIBED"))
            item = f'  - {{email: {email}, subscription: "{101 + index}", status: {status}'
            if status == "SUBSCRIBED":
                basis = rnd.choice(BASES)
                item += f', legal_basis: {basis}, legal_basis_explanation: "Form {number}"'
            lines.append(item + "}")
    lines.append("opt_outs:")
    lines += [f"  - {{email: {email}, business_unit: 0}}" for email in opted]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def admin(url: str, method: str, path: str) -> dict[str, object]:
    request = urllib.request.Request(f"{url}/_emulator/{path}", method=method)
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read()
    return json.loads(body) if body else {}


def run_export(url: str, subscribers: Path, out: Path, batch: int) -> tuple[float, float]:
    """Seconds and peak resident MB of one export in a fresh interpreter."""
    env = dict(os.environ, HSPREFS_API_URL=url, HUBSPOT_ACCESS_TOKEN="bench-token")
    args = [
        sys.executable, "-c", CHILD, str(BENCH), "export", "--subscribers", str(subscribers),
        "-o", str(out), "--batch-size", str(batch), "--quiet",
        # The emulator's limits are off and send no window headers: lift the client's
        # default ceiling (HubSpot's lowest tier) so the bench measures hsprefs itself.
        "--rate-limit", "100000",
    ]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.run(
        args, check=False, env=env, cwd=out.parent, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"bench: export failed: {child.stderr.strip()}")
    return seconds, float(child.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    rnd = random.Random(9)
    with tempfile.TemporaryDirectory(prefix="hsprefs-bench-export-") as temp:
        work = Path(temp)
        seed = work / "seed.yaml"
        write_seed(seed, options.subscribers, rnd)
        server, url, _token = start_emulator(
            "--db", str(work / "emulator.sqlite3"), "--seed", str(seed),
            "--rate-limit", "0", "--daily-limit", "0",
        )  # fmt: skip
        try:
            results: dict[int, tuple[float, float, int]] = {}
            for count in (options.small, options.subscribers):
                listing = work / f"list-{count}.txt"
                emails = [f"user{n:06d}@example.com" for n in range(count)]
                rnd.shuffle(emails)  # export sorts: give it unsorted input
                listing.write_text("\n".join(emails) + "\n", encoding="utf-8")
                best: tuple[float, float] | None = None
                for _ in range(options.repeat):
                    admin(url, "DELETE", "requests")
                    out = work / f"export-{count}.yaml"
                    seconds, peak = run_export(url, listing, out, options.batch)
                    if best is None or seconds < best[0]:
                        best = (seconds, max(peak, best[1] if best else 0.0))
                    counts = admin(url, "GET", "requests")["by_operation"]
                assert best is not None
                reads = math.ceil(count / options.batch)
                expected = {
                    "account_info": 1,
                    "definitions": 1,
                    "statuses.batch.read": reads,
                    "statuses.batch.unsubscribe_all_read": reads,
                }
                calls_ok = counts == expected
                size = out.stat().st_size
                results[count] = (best[0], best[1], size)
                print(
                    f"export of {count:>7,} subscribers: {best[0]:6.2f} s, peak "
                    f"{best[1]:6.1f} MB, output {size / 1e6:6.2f} MB, calls "
                    f"{'minimal' if calls_ok else f'NOT minimal: {counts}'}",
                    flush=True,
                )
                if not calls_ok:
                    return 1
        finally:
            server.terminate()
            server.wait(timeout=30)
    _seconds, small_peak, _ = results[options.small]
    big_t, big_peak, big_size = results[options.subscribers]
    growth = big_peak - small_peak
    print(
        f"memory growth from {options.small:,} to {options.subscribers:,} subscribers: "
        f"{growth:.1f} MB ({growth / (big_size / 1e6):.2f} x the output size; "
        f"{growth * 1e6 / max(1, options.subscribers - options.small):.0f} bytes per subscriber)"
    )
    print(f"throughput: {options.subscribers / big_t:,.0f} subscribers/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
