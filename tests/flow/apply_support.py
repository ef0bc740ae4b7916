"""What the apply suites share: journal and call counts, correlation ids masked for exact
output, a bulk project, and the CLI run over a transport that changes the world mid-run
(a Ctrl-C, a fault queued after a given answer)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from reconciler.cli import run
from reconciler.client import RetryPolicy
from reconciler.resources import load_schema
from tests.cli_hub import API_URL, Hub, Result
from tests.flow.conftest import SEED

WRITE_OPS = ("statuses.batch.write", "statuses.batch.unsubscribe_all")
JOURNAL = ".hsprefs/journal.jsonl"
WRITE_PATH = "/communication-preferences/2026-03/statuses/batch/write"
SINGLE_PREFIX = "/communication-preferences/2026-03/statuses/"
# The report's last line after a run that left something undone: a new plan (the same
# saved plan again also converges while nothing else changed for the rest).
NEXT_STEP = (
    "What is left: make a new plan with 'hsprefs plan -o FILE', review it and apply it with "
    "'hsprefs apply --plan FILE' (or run 'hsprefs apply', which plans afresh and asks).\n"
)
CID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def masked(text: str) -> str:
    """``text`` with every correlationId (a fresh UUID per answer) replaced by ``<cid>``."""
    return CID.sub("<cid>", text)


def write_calls(hub: Hub) -> dict[str, int]:
    counts = hub.counts()
    return {op: counts.get(op, 0) for op in WRITE_OPS}


def journal(project: Path, name: str = JOURNAL) -> list[dict[str, Any]]:
    """The journal's lines but the ``sending`` ones (written ahead of each call: see
    :func:`journal_all`), each checked against schemas/journal.schema.json."""
    return [line for line in journal_all(project, name) if line["outcome"] != "sending"]


def answer_lines(path: Path) -> list[dict[str, Any]]:
    """The lines of the journal at ``path`` but the ``sending`` ones (no schema check)."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if line["outcome"] != "sending"]


def journal_all(project: Path, name: str = JOURNAL) -> list[dict[str, Any]]:
    """Every line of the journal, each checked against schemas/journal.schema.json, and
    checked to be written ahead: each answer line of a call follows a ``sending`` line of
    the same call and input."""
    validator = jsonschema.Draft202012Validator(load_schema("journal.schema.json"))
    lines = [json.loads(line) for line in (project / name).read_text().splitlines()]
    sending: set[tuple[Any, ...]] = set()
    for line in lines:
        validator.validate(line)
        key = (line.get("call_id"), line["subscriber"], line["brand"], line["subscription_id"])
        if line["outcome"] == "sending":
            sending.add(key)
        elif line["operation"] in ("write", "unsubscribe-all") and line.get("call_id"):
            assert key in sending, f"an answer line with no sending line before it: {line}"
    return lines


def allow_requests(hub: Hub, more: int) -> None:
    """Set the emulator's daily cap so that exactly ``more`` further requests pass."""
    usage = hub.api("GET", "/account-info/v3/api-usage/daily/private-apps").json()
    hub.admin("PATCH", "settings", {"daily_limit": usage["results"][0]["currentUsage"] + more})


def bulk_project(root: Path, count: int) -> tuple[Path, dict[str, Any]]:
    """A config unsubscribing ``count`` people from product (102) of brand 0, and an
    emulator seed (the example portal) where all of them are subscribed to it."""
    emails = [f"p{i:04d}@example.com" for i in range(count)]
    root.mkdir(parents=True)
    (root / "subscribers").mkdir()
    (root / "hsprefs.yaml").write_text(
        "version: 1\n"
        'portal: {id: 12345678, gdpr: true, api_version: "2026-03"}\n'
        'subscriptions:\n  product: {id: "102"}\n'
        "policy: {max_change_percent: 100, min_managed: 0, max_unsubscribe_all: 5}\n"
        "include: [subscribers/*.yaml]\n"
    )
    (root / "subscribers" / "bulk.yaml").write_text(
        "version: 1\nbusiness_unit: 0\nsubscribers:\n"
        + "".join(f"  {email}: {{product: unsubscribed}}\n" for email in emails)
    )
    seed = yaml.safe_load(SEED.read_text())
    seed["statuses"] = [
        {
            "email": email,
            "subscription": "102",
            "status": "SUBSCRIBED",
            "timestamp": "2026-01-15T09:00:00Z",
            "source": "Website signup form",
            "legal_basis": "CONSENT_WITH_NOTICE",
            "legal_basis_explanation": "Signed up on the website",
        }
        for email in emails
    ]
    seed["opt_outs"] = []
    return root, seed


Hook = Callable[[httpx.Request, httpx.AsyncBaseTransport], Awaitable[None]]


class HookedTransport(httpx.AsyncBaseTransport):
    """The emulator app in-process; ``before`` runs as each request arrives, ``after``
    once it is answered (both get the request and the emulator's own transport).

    ``wire`` seconds pass on each request as on a network: in-process, a request that
    never waits runs start to finish within one step of the event loop, so calls would
    never overlap and a signal would only be handled once every call had run.
    """

    def __init__(
        self,
        app: Any,
        *,
        before: Hook | None = None,
        after: Hook | None = None,
        wire: float = 0.0,
    ) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self._before = before
        self._after = after
        self._wire = wire

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._before is not None:
            await self._before(request, self.inner)
        if self._wire:
            await asyncio.sleep(self._wire)
        response = await self.inner.handle_async_request(request)
        if self._after is not None:
            await response.aread()
            await self._after(request, self.inner)
        return response


def is_batch_write(request: httpx.Request) -> bool:
    """A batch status write (``POST statuses/batch/write``)."""
    return request.url.path == WRITE_PATH


def is_single_write(request: httpx.Request) -> bool:
    """A single-mode status write (``POST statuses/{subscriber}``)."""
    path = request.url.path
    return (
        request.method == "POST"
        and path.startswith(SINGLE_PREFIX)
        and "/" not in path[len(SINGLE_PREFIX) :]
    )


def ctrl_c_at_write(
    number: int,
    sig: signal.Signals = signal.SIGINT,
    *,
    is_write: Callable[[httpx.Request], bool] = is_batch_write,
) -> Hook:
    """A hook that presses Ctrl-C (a real SIGINT to this process; or sends ``sig``) as
    write call ``number`` arrives at HubSpot: that call is on the wire and finishes.
    ``is_write`` tells the write calls (the batch writes unless told otherwise)."""
    seen = 0

    async def hook(request: httpx.Request, _inner: httpx.AsyncBaseTransport) -> None:
        nonlocal seen
        if is_write(request):
            seen += 1
            if seen == number:
                signal.raise_signal(sig)

    return hook


async def queue_fault(
    inner: httpx.AsyncBaseTransport, kind: str, operation: str, count: int
) -> None:
    """Queue a fault through the emulator's admin surface, from inside a running apply."""
    async with httpx.AsyncClient(transport=inner, base_url=API_URL) as admin:
        response = await admin.post(
            "/_emulator/faults", json={"kind": kind, "operation": operation, "count": count}
        )
        response.raise_for_status()


def hsprefs_over(
    transport: httpx.AsyncBaseTransport, capsys: pytest.CaptureFixture[str], *args: str
) -> Result:
    """Run the CLI in-process over ``transport`` with instant retries (as Hub.hsprefs)."""
    capsys.readouterr()
    code = run(list(args), transport=transport, retry=RetryPolicy.instant())
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
