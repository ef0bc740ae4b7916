"""Single-mode throughput: a portal without the batch scopes, read and written one call
per subscriber and change, under a rolling-window rate limit.

Starts `hsprefs emulator serve --tier professional` as a subprocess (no token there has
the batch scopes), then, as `hsprefs plan` and `apply` do in auto mode, reads the
statuses and opt-outs of --subscribers subscribers of one brand through
`HubSpotClient.read` (one batch read refused with 403, then one status read and one
opt-out read per subscriber), and with --writes also sends one write per subscriber.

It prints the calls made against the minimum of docs/architecture.md#minimal-calls in
single mode (1 probe + 2N reads, then N writes), the 429s received, the wall time of each
phase, and its floor: the fastest schedule the rolling window allows sends a window's
worth at once and the next when the oldest ages out, so

    floor = ⌊(calls - 1) / rate_limit⌋ × window + latency

The issue's example: 2,000 subscribers at 190 per 10 s are 4,001 read calls, a floor of
210 s. Targets (issue 14): calls = minimum, zero 429s, wall / floor ≤ 1.05 per phase.
With --check the script exits 1 when a target is missed.

    .venv/bin/python bench/bench_single.py [--subscribers 2000] [--rate-limit 190]
        [--window-ms 10000] [--latency-ms 150] [--concurrency 32] [--writes]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from _emulator import start_emulator

from reconciler.client import HubSpotClient
from reconciler.model import Status, StatusWrite
from reconciler.settings import ApiSettings

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.05


def floor_seconds(calls: int, rate_limit: int, window: float, latency: float) -> float:
    """The fastest schedule the rolling window allows for ``calls`` requests."""
    if calls == 0:
        return 0.0
    return (calls - 1) // rate_limit * window + latency


async def measure(args: argparse.Namespace, url: str, token: str) -> dict[str, Any]:
    """Read every subscriber once (and write each once with --writes); what happened."""
    emails = [f"bench{i:06d}@example.com" for i in range(args.subscribers)]
    settings = ApiSettings(
        api_url=url,
        api_version="2026-03",
        token=token,
        rate_limit=args.rate_limit,
        concurrency=args.concurrency,
        api_mode="auto",
    )
    phases: dict[str, dict[str, Any]] = {}
    async with (
        httpx.AsyncClient(base_url=url) as admin,
        HubSpotClient.from_settings(settings) as client,
    ):
        (await admin.delete("/_emulator/requests")).raise_for_status()
        started = time.perf_counter()
        live = await client.read({0: emails})
        wall = time.perf_counter() - started
        served = (await admin.get("/_emulator/requests")).json()
        phases["read"] = {"wall": wall, "served": served, "minimum": 1 + 2 * len(emails)}
        if len(live.opt_outs) != args.subscribers or client.api_mode != "single":
            raise SystemExit(f"read {len(live.opt_outs)} subscribers in {client.api_mode}")
        if args.writes:
            # The client's window still holds the reads: wait it out, so the write
            # phase starts with the whole budget, as an apply after a review does.
            await asyncio.sleep(args.window_ms / 1000)
            writes = [StatusWrite(0, e, "101", Status.UNSUBSCRIBED) for e in emails]
            (await admin.delete("/_emulator/requests")).raise_for_status()
            started = time.perf_counter()
            await client.write(writes)
            wall = time.perf_counter() - started
            served = (await admin.get("/_emulator/requests")).json()
            phases["write"] = {"wall": wall, "served": served, "minimum": len(writes)}
        stats = client.stats.as_dict()
    return {"phases": phases, "stats": stats}


def report(args: argparse.Namespace, result: dict[str, Any]) -> bool:
    """Print the figures; True when every target is met."""
    window = args.window_ms / 1000
    latency = args.latency_ms / 1000
    print(
        f"single mode, {args.subscribers} subscribers, rate limit {args.rate_limit} per "
        f"{args.window_ms} ms, latency {args.latency_ms} ms, concurrency {args.concurrency}"
    )
    met = True
    for name, phase in result["phases"].items():
        minimum = phase["minimum"]
        served = phase["served"]
        calls = int(served["total"])
        limited = int(served["by_status"].get("429", 0))
        floor = floor_seconds(minimum, args.rate_limit, window, latency)
        ratio = phase["wall"] / floor if floor else math.inf
        ok = calls == minimum and limited == 0 and ratio <= TARGET_RATIO
        met = met and ok
        print(f"{name}:")
        print(f"  calls made      {calls} (minimum {minimum})")
        print(f"  429s received   {limited}")
        print(f"  wall time       {phase['wall']:.3f} s")
        print(
            f"  floor           {floor:.3f} s "
            f"(⌊({minimum} - 1) / {args.rate_limit}⌋ × {window:g} s + {latency:g} s)"
        )
        print(f"  ratio           {ratio:.3f} (target ≤ {TARGET_RATIO})")
        print("  targets         " + ("met" if ok else "MISSED"))
    stats = result["stats"]
    print(f"client            retries {stats['retries']}, peak in flight {stats['max_in_flight']}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=2_000)
    parser.add_argument("--rate-limit", type=int, default=190)
    parser.add_argument("--window-ms", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--writes", action="store_true", help="also write each subscriber once")
    # The floor assumes a window's worth can be in flight; 32 sends HubSpot's 190 per 10 s
    # in a few round trips. With the CLI's default of 8 the last window's 20 calls take
    # three round trips instead of one, which the ratio shows.
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    proc, url, token = start_emulator(
        "--rate-limit", str(args.rate_limit), "--rate-window-ms", str(args.window_ms),
        "--latency-ms", str(args.latency_ms), "--daily-limit", "0",
        "--tier", "professional", "--quiet",
    )  # fmt: skip
    try:
        result = asyncio.run(measure(args, url, token))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    met = report(args, result)
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
