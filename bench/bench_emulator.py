"""Emulator throughput over loopback: status records read and written per second.

Starts `hsprefs emulator serve` as a subprocess (uvicorn, a real socket, limits off),
then keeps a few batch calls in flight for a fixed time per phase and reports records
per second, and how many times HubSpot's own ceiling that is (190 requests per 10 s
with 100 inputs each), so we know the emulator is never the bottleneck of a
measurement. Bounded run time: about 2 x --seconds plus start-up.

    .venv/bin/python bench/bench_emulator.py [--seconds 5] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from _emulator import start_emulator

ROOT = Path(__file__).resolve().parents[1]
VERSION = "/communication-preferences/2026-03"
BATCH = 100
HUBSPOT_CALLS_PER_SECOND = 190 / 10  # Pro/Enterprise private apps (docs/architecture.md#the-api)


async def phase(
    client: httpx.AsyncClient, seconds: float, concurrency: int, make_call: Any
) -> tuple[int, int, float]:
    """Run ``make_call`` from ``concurrency`` workers for ``seconds``; (calls, records, s)."""
    deadline = time.perf_counter() + seconds
    totals = [0, 0]

    async def worker(worker_id: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            records = await make_call(client, worker_id, n)
            totals[0] += 1
            totals[1] += records
            n += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return totals[0], totals[1], time.perf_counter() - started


def emails(worker: int, n: int) -> list[str]:
    """A batch of distinct subscribers; a worker cycles through 20 batches."""
    base = (worker * 20 + n % 20) * BATCH
    return [f"bench{base + i}@example.com" for i in range(BATCH)]


async def write_call(client: httpx.AsyncClient, worker: int, n: int) -> int:
    state = "SUBSCRIBED" if (n // 20) % 2 == 0 else "UNSUBSCRIBED"
    inputs = [
        {
            "subscriberIdString": email,
            "subscriptionId": 101 + i % 3,
            "statusState": state,
            "channel": "EMAIL",
            "legalBasis": "CONSENT_WITH_NOTICE",
            "legalBasisExplanation": "benchmark",
        }
        for i, email in enumerate(emails(worker, n))
    ]
    answer = await client.post(f"{VERSION}/statuses/batch/write", json={"inputs": inputs})
    answer.raise_for_status()
    return len(answer.json()["results"])


async def read_call(client: httpx.AsyncClient, worker: int, n: int) -> int:
    answer = await client.post(
        f"{VERSION}/statuses/batch/read",
        params={"channel": "EMAIL"},
        json={"inputs": emails(worker, n)},
    )
    answer.raise_for_status()
    return sum(len(r["statuses"]) for r in answer.json()["results"])


async def measure(url: str, token: str, seconds: float, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=60
    ) as client:
        ceiling = HUBSPOT_CALLS_PER_SECOND * BATCH
        for name, call in (("written", write_call), ("read", read_call)):
            calls, records, elapsed = await phase(client, seconds, concurrency, call)
            rate = records / elapsed
            print(
                f"status records {name}: {records} in {elapsed:.1f} s = {rate:,.0f}/s "
                f"({calls / elapsed:,.1f} batch calls/s of {BATCH} inputs; "
                f"{rate / ceiling:,.1f}x HubSpot's ceiling of {ceiling:,.0f}/s)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--concurrency", type=int, default=8, help="batch calls in flight")
    args = parser.parse_args()
    proc, url, token = start_emulator("--rate-limit", "0", "--daily-limit", "0", "--quiet")
    try:
        print(
            f"emulator at {url}; {args.concurrency} calls in flight, {args.seconds:g} s per phase"
        )
        asyncio.run(measure(url, token, args.seconds, args.concurrency))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
