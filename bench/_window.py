"""Shared by the rate-window benchmarks (bench_client.py, bench_single.py): their options,
the floor a rolling window allows, the emulator run around a measurement, and one
phase's figures against its targets (calls = minimum, no 429, wall / floor ≤ 1.05)."""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import subprocess
from collections.abc import Callable, Coroutine
from typing import Any

from _emulator import start_emulator

TARGET_RATIO = 1.05

Measure = Callable[[argparse.Namespace, str, str], Coroutine[Any, Any, dict[str, Any]]]


def floor_seconds(calls: int, rate_limit: int, window: float, latency: float) -> float:
    """The fastest schedule the rolling window allows for ``calls`` requests: a window's
    worth at once, the next when the oldest ages out."""
    if calls == 0:
        return 0.0
    return (calls - 1) // rate_limit * window + latency


def parser(description: str, *, subscribers: int) -> argparse.ArgumentParser:
    """The options both benchmarks take (the script adds its own)."""
    options = argparse.ArgumentParser(description=description)
    options.add_argument("--subscribers", type=int, default=subscribers)
    options.add_argument("--rate-limit", type=int, default=190)
    options.add_argument("--window-ms", type=int, default=10_000)
    options.add_argument("--latency-ms", type=int, default=150)
    # The floor assumes a window's worth can be in flight; 32 sends HubSpot's 190 per 10 s
    # in a few round trips. With the CLI's default of 8 the last window's 20 calls take
    # three round trips instead of one, which the ratio shows.
    options.add_argument("--concurrency", type=int, default=32)
    options.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return options


def run(args: argparse.Namespace, measure: Measure, *flags: str) -> dict[str, Any]:
    """Start the emulator with the rate limit of ``args`` (and ``flags``), run
    ``measure(args, url, token)``, stop the emulator; what ``measure`` returned."""
    proc, url, token = start_emulator(
        "--rate-limit", str(args.rate_limit), "--rate-window-ms", str(args.window_ms),
        "--latency-ms", str(args.latency_ms), "--daily-limit", "0", "--quiet", *flags,
    )  # fmt: skip
    try:
        return asyncio.run(measure(args, url, token))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def report_phase(
    args: argparse.Namespace, name: str, *, minimum: int, served: dict[str, Any], wall: float
) -> bool:
    """Print one phase's calls, 429s and wall time against its floor; True when every
    target is met."""
    window = args.window_ms / 1000
    latency = args.latency_ms / 1000
    calls = int(served["total"])
    limited = int(served["by_status"].get("429", 0))
    floor = floor_seconds(minimum, args.rate_limit, window, latency)
    ratio = wall / floor if floor else math.inf
    met = calls == minimum and limited == 0 and ratio <= TARGET_RATIO
    print(f"{name}:")
    print(f"  calls made      {calls} (minimum {minimum})")
    print(f"  429s received   {limited}")
    print(f"  wall time       {wall:.3f} s")
    print(
        f"  floor           {floor:.3f} s "
        f"(⌊({minimum} - 1) / {args.rate_limit}⌋ × {window:g} s + {latency:g} s)"
    )
    print(f"  ratio           {ratio:.3f} (target ≤ {TARGET_RATIO})")
    print("  targets         " + ("met" if met else "MISSED"))
    return met
