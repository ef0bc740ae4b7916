"""Helpers shared by the emulator tests: paths, inputs, reads, and the spec check.

When HubSpot's specs are beside the checkout (``../shared/hubspot-openapi``),
:func:`check_against_spec` validates a JSON answer against the response schema of its
operation (null treated as absent, as HubSpot sends it).
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from anyio.from_thread import BlockingPortal
from starlette.applications import Starlette

from reconciler.emulator import DEFAULT_TOKEN

REPO = Path(__file__).resolve().parents[2]
SPECS = Path(os.environ.get("HSPREFS_SPECS", REPO.parent / "shared" / "hubspot-openapi"))
EXAMPLE_SEED = REPO / "examples" / "emulator-seed.yaml"
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
V = "/communication-preferences/2026-03"


def _strip_nulls(value: Any) -> Any:
    # HubSpot sends null for absent optional fields; the spec types them.
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _inline(node: Any, spec: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = spec
            for part in ref[2:].split("/"):
                target = target[part]
            return _inline(target, spec)
        return {k: _inline(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, spec) for v in node]
    return node


@cache
def _operations(version: str) -> list[tuple[str, re.Pattern[str], dict[str, Any], dict[str, Any]]]:
    spec = json.loads((SPECS / version / "subscriptions.json").read_text(encoding="utf-8"))
    found = []
    for template, methods in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        for method, op in methods.items():
            if isinstance(op, dict) and "responses" in op:
                found.append((method.upper(), pattern, op, spec))
    # Literal paths (batch/read) before templated ones ({subscriberIdString}).
    found.sort(key=lambda item: item[1].pattern.count("[^/]+"))
    return found


def response_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The spec's schema for an answer, or None when the specs are absent or silent."""
    validator = _validator_for(method, path, status)
    return validator.schema if validator is not None else None


def _validator_for(method: str, path: str, status: int) -> Any:
    match = re.match(r"^/communication-preferences/([^/]+)/", path)
    if match is None or not SPECS.is_dir():
        return None
    version = match.group(1)
    if not (SPECS / version).is_dir():
        return None
    for index, (op_method, pattern, _op, _spec) in enumerate(_operations(version)):
        if op_method == method and pattern.match(path):
            return _validator(version, index, status)
    return None


@cache
def _validator(version: str, index: int, status: int) -> Any:
    _method, _pattern, op, spec = _operations(version)[index]
    response = op["responses"].get(str(status)) or op["responses"].get("default")
    if response is None:
        return None
    response = _inline(response, spec)
    content = response.get("content", {})
    media = content.get("application/json") or content.get("*/*") or {}
    schema = media.get("schema")
    if not isinstance(schema, dict):
        return None
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def check_against_spec(response: httpx.Response) -> None:
    """Fail when a JSON answer does not match its operation's response schema."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return
    validator = _validator_for(
        response.request.method, response.request.url.path, response.status_code
    )
    if validator is None:
        return
    validator.validate(_strip_nulls(response.json()))


def write_input(
    email: str,
    subscription: int,
    state: str,
    *,
    basis: str | None = "CONSENT_WITH_NOTICE",
    explanation: str | None = "Signed up on the website",
) -> dict[str, Any]:
    """One batch-write input; the legal basis is sent unless set to None."""
    item: dict[str, Any] = {
        "subscriberIdString": email,
        "subscriptionId": subscription,
        "statusState": state,
        "channel": "EMAIL",
    }
    if basis is not None:
        item["legalBasis"] = basis
    if explanation is not None:
        item["legalBasisExplanation"] = explanation
    return item


def statuses_of(client: SyncClient, email: str, brand: int = 0) -> dict[int, str]:
    """A subscriber's statuses in one brand, as {subscription id: status}."""
    answer = client.get(
        f"{V}/statuses/{email}", params={"channel": "EMAIL", "businessUnitId": brand}
    )
    assert answer.status_code == 200
    return {s["subscriptionId"]: s["status"] for s in answer.json()["results"]}


def opted_out(client: SyncClient, email: str, brand: int = 0) -> bool:
    """Whether a subscriber reads as opted out of all email of a brand."""
    answer = client.get(
        f"{V}/statuses/{email}/unsubscribe-all",
        params={"channel": "EMAIL", "businessUnitId": brand},
    )
    assert answer.status_code == 200
    return any(w["status"] == "UNSUBSCRIBED" for w in answer.json()["results"])


class SyncClient:
    """A blocking client over an in-process emulator (``httpx.ASGITransport``).

    Calls run on a shared anyio portal; every JSON answer is checked against the spec.
    ``app`` is the emulator app (``app.state.emulator`` is its state).
    """

    def __init__(
        self, app: Starlette, portal: BlockingPortal, headers: dict[str, str] | None
    ) -> None:
        self.app = app
        self._portal = portal
        self._client = portal.call(self._open, headers)

    async def _open(self, headers: dict[str, str] | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://127.0.0.1",
            headers=headers,
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request and check the answer against the spec."""

        async def send() -> httpx.Response:
            return await self._client.request(method, url, **kwargs)

        response = self._portal.call(send)
        check_against_spec(response)
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        """Close the client and the emulator's database."""
        self._portal.call(self._client.aclose)
        self.app.state.emulator.close()
