"""The baseline: how a user scripts this today with HubSpot's official Python SDK.

Two reads per subscriber, the statuses (``status_api.get_email_status``, v3) and the
opt-out of all (the 2026-03 single read, through the SDK's generic request: v3 has none),
which is what hsprefs reads too, and one write per change
(``subscribe`` / ``unsubscribe``, v3; an opt-out of all through the SDK's generic
request, which v3 lacks), from a thread pool that keeps the rolling window busy, with the
SDK's own retry on 429. It works from the saved plan's list of changes, so it does the
same work hsprefs does, against the same emulator and rate limit.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import hubspot
from hubspot.communication_preferences import PublicUpdateSubscriptionStatusRequest
from urllib3.util.retry import Retry

WORKERS = 16


def _client(url: str, token: str) -> hubspot.Client:
    # urllib3 retries only GET, PUT and the like unless told otherwise; the SDK's
    # subscribe and unsubscribe are POSTs that set a status, safe to send again, and a
    # script without their retry stops at the first 429.
    retry = Retry(
        total=50,
        status_forcelist=(429, 502, 503, 504),
        backoff_factor=0.5,
        allowed_methods=None,
    )
    return hubspot.Client.create(access_token=token, host=url, base_url=url, retry=retry)


def _subscribers(config: Path) -> list[tuple[str, int]]:
    """Every declared (subscriber, brand), as a script would collect them from the config."""
    found: list[tuple[str, int]] = []
    for path in sorted((config / "subscribers").iterdir()):
        brand = int(path.name.split("-")[0].removeprefix("brand"))
        if path.suffix == ".csv":
            found.extend((line, brand) for line in path.read_text().splitlines()[1:] if line)
        else:
            for line in path.read_text().splitlines():
                if line.startswith("  user"):
                    found.append((line.split(":", 1)[0].strip(), brand))
    return found


def run(config: Path, plan: Path, url: str, token: str) -> dict[str, Any]:
    """Read every subscriber and write every change of ``plan``; return calls and seconds."""
    client = _client(url, token)
    status = client.communication_preferences.status_api
    changes = json.loads(plan.read_text(encoding="utf-8"))["changes"]
    subscribers = _subscribers(config)

    def read(subscriber: tuple[str, int]) -> None:
        email, brand = subscriber
        status.get_email_status(email)
        path = f"/communication-preferences/2026-03/statuses/{email}/unsubscribe-all"
        query = {"businessUnitId": brand, "channel": "EMAIL"}
        client.api_request({"method": "GET", "path": path, "qs": query})

    def write(change: dict[str, Any]) -> None:
        email = change["email"]
        if change["kind"] == "unsubscribe_all":
            path = f"/communication-preferences/2026-03/statuses/{email}/unsubscribe-all"
            query = {"businessUnitId": change["brand"], "channel": "EMAIL"}
            client.api_request({"method": "POST", "path": path, "qs": query})
            return
        request = PublicUpdateSubscriptionStatusRequest(
            email_address=email,
            subscription_id=change["subscription_id"],
            legal_basis=change.get("legal_basis"),
            legal_basis_explanation=change.get("legal_basis_explanation"),
        )
        if change["after"] == "SUBSCRIBED":
            status.subscribe(public_update_subscription_status_request=request)
        else:
            status.unsubscribe(public_update_subscription_status_request=request)

    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(read, subscribers))
        list(pool.map(write, changes))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "reads": 2 * len(subscribers), "writes": len(changes)}
