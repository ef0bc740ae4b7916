"""Local cost of planning: diff, checksum and rendering for a large config, in memory.

The rate limit is the real floor of a plan (see bench_client.py); this checks that the
work hsprefs does on its own is small next to it. Prints the seconds per step and the
share of the rate-limit floor that a plan of this size needs anyway.
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import UTC, datetime, timedelta

from reconciler.diff import diff
from reconciler.model import (
    DesiredOptOut,
    DesiredState,
    DesiredStatus,
    LiveOptOut,
    LiveState,
    LiveStatus,
    PairKey,
    Status,
    SubscriberKey,
)
from reconciler.plan import Target
from reconciler.planfile import render_json
from reconciler.render import render_markdown, render_text

SUBS = ("101", "102", "103")


def build(n: int) -> tuple[DesiredState, LiveState]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    statuses: dict[PairKey, DesiredStatus] = {}
    live: dict[PairKey, LiveStatus] = {}
    flags: dict[SubscriberKey, DesiredOptOut] = {}
    cycle = list(Status)
    for i in range(n):
        email = f"user{i:06d}@example.com"
        if i % 50 == 0:
            key = SubscriberKey(0, email)
            flags[key] = DesiredOptOut(key, True)
            continue
        for j, sub in enumerate(SUBS):
            key = PairKey(0, email, sub)
            want = cycle[(i + j) % 3]
            statuses[key] = DesiredStatus(
                key,
                want,
                alias=sub,
                legal_basis="CONSENT_WITH_NOTICE",
                legal_basis_explanation="form",
            )
            live[key] = LiveStatus(key, cycle[(i + 2 * j) % 3], base + timedelta(minutes=i), "API")
    return (
        DesiredState(statuses=statuses, opt_outs=flags),
        LiveState(statuses=live, opt_outs={k: LiveOptOut(k, False) for k in flags}),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--rate-limit", type=int, default=190, help="requests per 10 s window")
    args = parser.parse_args()
    desired, live = build(args.subscribers)
    target = Target(portal_id=1, api_url="https://api.hubapi.com", api_version="2026-03")
    steps: dict[str, float] = {}
    start = time.perf_counter()
    plan = diff(desired, live, target=target)
    steps["diff + calls + checksum"] = time.perf_counter() - start
    for name, render in (
        ("render text", lambda: render_text(plan)),
        ("render json", lambda: render_json(plan)),
        ("render markdown", lambda: render_markdown(plan)),
    ):
        start = time.perf_counter()
        render()
        steps[name] = time.perf_counter() - start
    reads = 2 * math.ceil(args.subscribers / 100)
    floor = math.floor((reads - 1) / args.rate_limit) * 10.0
    local = sum(steps.values())
    print(
        f"plan of {args.subscribers:,} subscribers: {len(plan.changes):,} changes, "
        f"{len(plan.blocked):,} blocked, {len(plan.calls)} write calls"
    )
    for name, seconds in steps.items():
        print(f"  {name:<24} {seconds:7.3f} s")
    print(f"  {'local work in all':<24} {local:7.3f} s")
    print(
        f"rate-limit floor of the {reads} reads: {floor:.1f} s; local work is "
        f"{100 * local / floor:.1f}% of it"
        if floor
        else "rate-limit floor: 0 s"
    )


if __name__ == "__main__":
    main()
