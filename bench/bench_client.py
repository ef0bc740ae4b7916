"""Client read throughput under a rolling-window rate limit: calls, 429s, ratio to the floor.

Starts `hsprefs emulator serve` as a subprocess (a real socket, its own process) with a
rate limit and latency, then reads the statuses and wide statuses of --subscribers
subscribers of one brand through `HubSpotClient.read`, exactly as `hsprefs plan` does.

It prints the calls made against the minimum of docs/architecture.md#minimal-calls
(⌈N/batch⌉ status reads plus ⌈N/batch⌉ wide reads), the 429s received, the wall time,
and the floor: the time the fastest schedule the rolling window allows needs for the
minimum calls. That schedule sends a full window's worth at once and the next when the
oldest ages out, so the last call leaves at ⌊(calls - 1) / max⌋ windows and its answer
takes one latency:

    floor = ⌊(calls - 1) / rate_limit⌋ × window + latency

Targets (issue 6): calls = minimum, zero 429s, wall / floor ≤ 1.05. With --check the
script exits 1 when a target is missed.

    .venv/bin/python bench/bench_client.py [--subscribers 20000] [--rate-limit 190]
        [--window-ms 10000] [--latency-ms 150] [--batch-size 100] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

import _window
import httpx

from reconciler.client import HubSpotClient
from reconciler.settings import ApiSettings


async def measure(args: argparse.Namespace, url: str, token: str) -> dict[str, Any]:
    """Read every subscriber once; return what happened."""
    emails = [f"bench{i:06d}@example.com" for i in range(args.subscribers)]
    settings = ApiSettings(
        api_url=url,
        api_version="2026-03",
        token=token,
        rate_limit=args.rate_limit,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
    )
    async with httpx.AsyncClient(base_url=url) as admin:
        (await admin.delete("/_emulator/requests")).raise_for_status()
        async with HubSpotClient.from_settings(settings) as client:
            started = time.perf_counter()
            live = await client.read({0: emails})
            wall = time.perf_counter() - started
            stats = client.stats.as_dict()
        served = (await admin.get("/_emulator/requests")).json()
    if len(live.opt_outs) != args.subscribers:
        raise SystemExit(f"read {len(live.opt_outs)} of {args.subscribers} subscribers")
    return {"wall": wall, "stats": stats, "served": served}


def report(args: argparse.Namespace, result: dict[str, Any]) -> bool:
    """Print the figures; True when every target is met."""
    print(
        f"read {args.subscribers} subscribers, batch {args.batch_size}, "
        f"rate limit {args.rate_limit} per {args.window_ms} ms, latency {args.latency_ms} ms, "
        f"concurrency {args.concurrency}"
    )
    minimum = 2 * math.ceil(args.subscribers / args.batch_size)
    met = _window.report_phase(
        args, "read", minimum=minimum, served=result["served"], wall=result["wall"]
    )
    stats = result["stats"]
    print(
        f"client            {stats['total_requests']} requests, retries {stats['retries']}, "
        f"{stats['rate_limited']} 429s, peak in flight {stats['max_in_flight']}"
    )
    return met


def main() -> int:
    parser = _window.parser(__doc__.split("\n\n")[0], subscribers=20_000)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    result = _window.run(args, measure, "--batch-limit", str(args.batch_size))
    met = report(args, result)
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
