"""The scenario registry and the helpers scenarios share.

A scenario is a plain function of a :class:`~.harness.Bench` (and an API version) that
drives recorded emulators and asserts what HubSpot would answer; :func:`scenario`
registers it once per version in :data:`SCENARIOS` under ``name[version]``. The
scenarios themselves live in ``scenarios_api`` (the operations) and ``scenarios_edges``
(auth, limits, faults, v3, account info); ``scenarios`` gathers them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import httpx

from .harness import Api, Bench

__all__ = [
    "BASIS",
    "EMAIL",
    "SCENARIOS",
    "V4_STYLE",
    "category",
    "scenario",
    "statuses",
    "write_input",
]

V4_STYLE = ("2026-03", "v4", "2026-09")
EMAIL = {"channel": "EMAIL"}
BASIS = {"legalBasis": "CONSENT_WITH_NOTICE", "legalBasisExplanation": "Asked at the fair"}

Scenario = Callable[[Bench], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(*versions: str) -> Callable[[Callable[[Bench, str], None]], None]:
    """Register a scenario once per API version it runs under."""

    def register(func: Callable[[Bench, str], None]) -> None:
        for version in versions:
            SCENARIOS[f"{func.__name__}[{version}]"] = partial(func, version=version)

    return register


def write_input(email: str, sub: int, state: str, **extra: Any) -> dict[str, Any]:
    """One input of a 2026-03 batch write (``extra`` adds or overrides fields)."""
    return {
        "subscriberIdString": email,
        "subscriptionId": sub,
        "statusState": state,
        "channel": "EMAIL",
        **extra,
    }


def statuses(api: Api, email: str, brand: int = 0) -> dict[int, str]:
    """A subscriber's statuses in one brand, read back as {subscription id: status}."""
    answer = api.get(f"/statuses/{email}", params={**EMAIL, "businessUnitId": brand})
    assert answer.status_code == 200
    return {s["subscriptionId"]: s["status"] for s in answer.json()["results"]}


def category(answer: httpx.Response) -> tuple[int, str]:
    """An error answer's HTTP status and HubSpot ``category``."""
    return answer.status_code, answer.json()["category"]
