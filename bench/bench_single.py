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
import sys
import time
from typing import Any

import _window
import httpx

from reconciler.client import HubSpotClient
from reconciler.model import Status, StatusWrite
from reconciler.settings import ApiSettings


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
    print(
        f"single mode, {args.subscribers} subscribers, rate limit {args.rate_limit} per "
        f"{args.window_ms} ms, latency {args.latency_ms} ms, concurrency {args.concurrency}"
    )
    met = True
    for name, phase in result["phases"].items():
        ok = _window.report_phase(
            args, name, minimum=phase["minimum"], served=phase["served"], wall=phase["wall"]
        )
        met = met and ok
    stats = result["stats"]
    print(f"client            retries {stats['retries']}, peak in flight {stats['max_in_flight']}")
    return met


def main() -> int:
    parser = _window.parser(__doc__.split("\n\n")[0], subscribers=2_000)
    parser.add_argument("--writes", action="store_true", help="also write each subscriber once")
    args = parser.parse_args()
    result = _window.run(args, measure, "--tier", "professional")
    met = report(args, result)
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
