"""The emulator under load: many concurrent clients of a real `hsprefs emulator serve`.

Clients run at once against one process with its SQLite ``--db`` and a rate limit
that bites, each making a few hundred calls: batch and single reads, batch and single
writes, batch and single unsubscribe-alls, some with inputs HubSpot refuses. Each client
owns its own subscribers, so a sequential model of that client's accepted calls
predicts every answer it reads and every reason a write gives; all clients also write
to a few shared subscribers, with writes that commute (unsubscribed, unsubscribe-all),
so their final state is one whatever the interleaving. Afterwards:

- every answer was well-formed (judged against HubSpot's specs too), and each read saw
  exactly the model's state;
- the write log holds exactly the inputs sent, every attempt, with the outcome each got;
- the request counters per operation and status equal the calls made and the answers
  seen, 429s included, and the daily usage equals the requests let through;
- the final state equals the model, and the write log replayed in its order; it is the
  same after a restart on the same --db.

The default suite runs a bounded version; ``make soak`` a bigger one (marked slow).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from .helpers import check_against_spec
from .served import Served, serve_cli

V = "/communication-preferences/2026-03"
TOKEN = "load-token"
BRANDS = {0: ("101", "102", "103"), 5: ("201", "202")}
BRAND_OF = {sub: brand for brand, subs in BRANDS.items() for sub in subs}
SEED: dict[str, Any] = {
    "version": 1,
    "portal": {"id": 424242, "gdpr": True, "created_at": "2024-01-01T00:00:00Z"},
    "brands": [{"id": 0, "name": "Account"}, {"id": 5, "name": "Outdoor"}],
    "definitions": [
        {"id": sub, "business_unit": brand, "name": f"Subscription {sub}"}
        for brand, subs in BRANDS.items()
        for sub in subs
    ],
}
SHARED = [f"shared{n}@load.example" for n in range(4)]
BASIS = {"legalBasis": "CONSENT_WITH_NOTICE", "legalBasisExplanation": "Load test form"}
STATES = ("SUBSCRIBED", "UNSUBSCRIBED", "NOT_SPECIFIED")
EMAIL = {"channel": "EMAIL"}
# Checks one subscriber's answer (email, brand, its statuses or wide statuses).
Check = Callable[[str, int, list[dict[str, Any]]], None]
READ_OPS = (
    "statuses.batch.read",
    "statuses.read",
    "statuses.batch.unsubscribe_all_read",
    "statuses.unsubscribe_all_read",
)


@dataclass
class Model:
    """What one client's accepted calls have made of its own subscribers."""

    statuses: dict[tuple[str, str], str] = field(default_factory=dict)
    opted_out: set[tuple[str, int]] = field(default_factory=set)

    def status(self, email: str, sub: str) -> str:
        return self.statuses.get((email, sub), "NOT_SPECIFIED")

    def write(self, email: str, sub: str, state: str) -> str:
        """Apply one accepted write; the ``setStatusSuccessReason`` it gives."""
        brand = BRAND_OF[sub]
        before = self.status(email, sub)
        out = (email, brand) in self.opted_out
        if before == state and not (state == "SUBSCRIBED" and out):
            return "NO_STATUS_CHANGE"
        self.statuses[(email, sub)] = state
        if state == "SUBSCRIBED" and out:
            self.opted_out.discard((email, brand))
        if state == "SUBSCRIBED" and (before == "UNSUBSCRIBED" or out):
            return "RESUBSCRIBE_OCCURRED"
        return "REQUESTED_CHANGE_OCCURRED"

    def unsubscribe_all(self, email: str, brand: int) -> None:
        self.opted_out.add((email, brand))
        for sub in BRANDS[brand]:
            self.statuses[(email, sub)] = "UNSUBSCRIBED"


@dataclass
class Tally:
    """What all clients sent and saw."""

    answers: Counter[tuple[str, str]] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)  # write inputs, as JSON
    outcomes: Counter[str] = field(default_factory=Counter)  # (input, outcome) as JSON
    shared_unsubscribed: set[tuple[str, str]] = field(default_factory=set)
    shared_opted_out: set[tuple[str, int]] = field(default_factory=set)
    models: list[tuple[list[str], Model]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    resent: int = 0


def _key(operation: str, item: Any) -> str:
    return json.dumps([operation, item], sort_keys=True)


class Client:
    """One client: its subscribers, its model, its own connection."""

    def __init__(self, number: int, url: str, tally: Tally, calls: int) -> None:
        self.rng = random.Random(number)
        self.own = [f"c{number}-{n}@load.example" for n in range(6)]
        self.model = Model()
        self.tally = tally
        self.calls = calls
        self.http = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        )
        tally.models.append((self.own, self.model))

    async def send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        writes: list[Any],
        retry: bool = True,
        **kw: Any,
    ) -> httpx.Response:
        """One call, retried after each 429 (every attempt is counted and logged)."""
        while True:
            try:
                answer = await self.http.request(method, path, **kw)
            except httpx.RemoteProtocolError as exc:
                # A kept-alive connection the server closed as idle just as the request
                # went out (uvicorn's 5 s keep-alive, on a starved machine): the server
                # never read it, so it is sent again. Were it counted after all, the
                # counts below would not add up.
                if "without sending a response" not in str(exc):
                    raise
                self.tally.resent += 1
                continue
            check_against_spec(answer)
            self.tally.answers[(operation, str(answer.status_code))] += 1
            for item in writes:
                self.tally.sent[_key(operation, item)] += 1
            self._check_headers(answer)
            if answer.status_code != 429:
                return answer
            body = answer.json()
            assert body["errorType"] == "RATE_LIMIT", body
            assert body["policyName"] == "TEN_SECONDLY_ROLLING", body
            for item in writes:
                self.tally.outcomes[_key(operation, [item, "refused"])] += 1
            if not retry:
                return answer
            await asyncio.sleep(0.02 + self.rng.random() * 0.05)

    def _check_headers(self, answer: httpx.Response) -> None:
        top = int(answer.headers["X-HubSpot-RateLimit-Max"])
        left = int(answer.headers["X-HubSpot-RateLimit-Remaining"])
        assert 0 <= left <= top, answer.headers
        assert answer.headers["X-HubSpot-Correlation-Id"]

    def outcome(self, operation: str, item: Any, outcome: str) -> None:
        self.tally.outcomes[_key(operation, [item, outcome])] += 1

    async def run(self) -> None:
        try:
            for _ in range(self.calls):
                await self.step()
        finally:
            await self.http.aclose()

    async def burst(self) -> None:
        """One write of each kind, sent once while the rate limit refuses everything."""
        email = self.own[0]
        item = {"subscriberIdString": email, "subscriptionId": 101, "statusState": "SUBSCRIBED"}
        item = {**item, "channel": "EMAIL", **BASIS}
        calls = [
            ("statuses.batch.write", f"{V}/statuses/batch/write", [item], {"inputs": [item]}),
            (
                "statuses.batch.unsubscribe_all",
                f"{V}/statuses/batch/unsubscribe-all",
                [email],
                {"inputs": [email]},
            ),
        ]
        self.http = httpx.AsyncClient(
            base_url=str(self.http.base_url), headers={"Authorization": f"Bearer {TOKEN}"}
        )
        try:
            for operation, path, writes, body in calls:
                answer = await self.send(
                    operation,
                    "POST",
                    path,
                    writes=writes,
                    retry=False,
                    json=body,
                    params={**EMAIL, "businessUnitId": 0},
                )
                assert answer.status_code == 429, answer.text
        finally:
            await self.http.aclose()

    async def step(self) -> None:
        rng = self.rng
        kind = rng.choices(
            ["batch_write", "write", "batch_read", "read", "batch_wide", "wide", "opt_out"],
            weights=[5, 3, 3, 2, 2, 2, 2],
        )[0]
        await getattr(self, kind)()

    # -- writes --------------------------------------------------------------------

    def _shared_write(self) -> dict[str, Any]:
        email, sub = self.rng.choice(SHARED), self.rng.choice(list(BRAND_OF))
        self.tally.shared_unsubscribed.add((email, sub))
        return {
            "subscriberIdString": email,
            "subscriptionId": int(sub),
            "statusState": "UNSUBSCRIBED",
            "channel": "EMAIL",
        }

    async def batch_write(self) -> None:
        rng = self.rng
        inputs: list[dict[str, Any]] = []
        expect: list[tuple[str, str, str] | None] = []
        taken: set[tuple[str, str]] = set()
        for _ in range(rng.randint(1, 6)):
            roll = rng.random()
            if roll < 0.15:
                inputs.append(self._shared_write())
                expect.append(None)
                continue
            email, sub = rng.choice(self.own), rng.choice(list(BRAND_OF))
            if (email, sub) in taken:
                continue  # one input per pair, so the model's order is the call's
            taken.add((email, sub))
            bad = roll > 0.95  # a subscription the portal does not have
            item = {
                "subscriberIdString": email,
                "subscriptionId": 999 if bad else int(sub),
                "statusState": rng.choice(STATES),
                "channel": "EMAIL",
                **BASIS,
            }
            inputs.append(item)
            expect.append(None if bad else (email, sub, item["statusState"]))
        operation = "statuses.batch.write"
        answer = await self.send(
            operation, "POST", f"{V}/statuses/batch/write", writes=inputs, json={"inputs": inputs}
        )
        assert answer.status_code in (200, 207), answer.text
        body = answer.json()
        assert body["status"] == "COMPLETE"
        results = body["results"]
        errors = body.get("errors", [])
        bad = [i for i in inputs if i["subscriptionId"] == 999]
        assert len(errors) == len(bad), body
        assert len(results) == len(inputs) - len(bad), body
        by_pair = {(r["subscriberIdString"], str(r["subscriptionId"])): r for r in results}
        for item, want in zip(inputs, expect, strict=True):
            self.outcome(operation, item, "failed" if item in bad else "applied")
            if want is None:
                continue
            email, sub, state = want
            reason = self.model.write(email, sub, state)
            got = by_pair[(email, sub)]
            if (got["status"], got["setStatusSuccessReason"]) != (state, reason):
                self.tally.problems.append(f"batch write {item}: {got}, wanted {reason}")

    async def write(self) -> None:
        email, sub = self.rng.choice(self.own), self.rng.choice(list(BRAND_OF))
        state = self.rng.choice(STATES)
        body = {"subscriptionId": int(sub), "statusState": state, "channel": "EMAIL", **BASIS}
        logged = {"subscriberIdString": email, **body}
        operation = "statuses.write"
        answer = await self.send(
            operation, "POST", f"{V}/statuses/{email}", writes=[logged], json=body
        )
        assert answer.status_code == 200, answer.text
        self.outcome(operation, logged, "applied")
        reason = self.model.write(email, sub, state)
        (got,) = answer.json()["results"]
        if (got["status"], got["setStatusSuccessReason"]) != (state, reason):
            self.tally.problems.append(f"write {logged}: {got}, wanted {reason}")

    async def opt_out(self) -> None:
        rng = self.rng
        brand = rng.choice(list(BRANDS))
        params = {**EMAIL, "businessUnitId": brand}
        if rng.random() < 0.5:
            email = rng.choice(self.own + SHARED)
            operation = "statuses.unsubscribe_all"
            answer = await self.send(
                operation,
                "POST",
                f"{V}/statuses/{email}/unsubscribe-all",
                writes=[email],
                params=params,
            )
            emails = [email]
        else:
            emails = rng.sample(self.own + SHARED, rng.randint(1, 4))
            operation = "statuses.batch.unsubscribe_all"
            answer = await self.send(
                operation,
                "POST",
                f"{V}/statuses/batch/unsubscribe-all",
                writes=emails,
                params=params,
                json={"inputs": emails},
            )
        assert answer.status_code == 200, answer.text
        for email in emails:
            self.outcome(operation, email, "applied")
            if email in SHARED:
                self.tally.shared_opted_out.add((email, brand))
            else:
                self.model.unsubscribe_all(email, brand)

    # -- reads ---------------------------------------------------------------------

    def _check_statuses(self, email: str, brand: int, statuses: list[dict[str, Any]]) -> None:
        got = {str(s["subscriptionId"]): s["status"] for s in statuses}
        want = {sub: self.model.status(email, sub) for sub in BRANDS[brand]}
        if got != want:
            self.tally.problems.append(f"read {email} brand {brand}: {got}, wanted {want}")

    def _check_wide(self, email: str, brand: int, wide: list[dict[str, Any]]) -> None:
        out = any(w["status"] == "UNSUBSCRIBED" for w in wide)
        if out != ((email, brand) in self.model.opted_out):
            self.tally.problems.append(f"wide read {email} brand {brand}: {wide}")

    async def _batch(self, operation: str, path: str, key: str, check: Check) -> None:
        """A batch read of some of this client's subscribers, each answer checked."""
        brand = self.rng.choice(list(BRANDS))
        emails = self.rng.sample(self.own, self.rng.randint(1, len(self.own)))
        answer = await self.send(
            operation,
            "POST",
            f"{V}/{path}",
            writes=[],
            params={**EMAIL, "businessUnitId": brand},
            json={"inputs": emails},
        )
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        assert sorted(r["subscriberIdString"] for r in results) == sorted(emails)
        for result in results:
            check(result["subscriberIdString"], brand, result[key])

    async def _single(self, operation: str, suffix: str, check: Check) -> None:
        """A single-subscriber read of one of this client's subscribers, checked."""
        brand, email = self.rng.choice(list(BRANDS)), self.rng.choice(self.own)
        answer = await self.send(
            operation,
            "GET",
            f"{V}/statuses/{email}{suffix}",
            writes=[],
            params={**EMAIL, "businessUnitId": brand},
        )
        assert answer.status_code == 200, answer.text
        check(email, brand, answer.json()["results"])

    async def batch_read(self) -> None:
        await self._batch(
            "statuses.batch.read", "statuses/batch/read", "statuses", self._check_statuses
        )

    async def read(self) -> None:
        await self._single("statuses.read", "", self._check_statuses)

    async def batch_wide(self) -> None:
        await self._batch(
            "statuses.batch.unsubscribe_all_read",
            "statuses/batch/unsubscribe-all/read",
            "wideStatuses",
            self._check_wide,
        )

    async def wide(self) -> None:
        await self._single("statuses.unsubscribe_all_read", "/unsubscribe-all", self._check_wide)


async def _load(served: Served, clients: int, calls: int) -> Tally:
    tally = Tally()
    crowd = [Client(n, served.url, tally, calls) for n in range(clients)]
    await asyncio.gather(*(client.run() for client in crowd))
    # Then a window that admits nothing: every client's writes are refused, at once.
    served.admin("PATCH", "settings", json={"rate_limit": 1, "rate_window_ms": 600_000})
    await asyncio.gather(*(client.burst() for client in crowd))
    served.admin("PATCH", "settings", json={"rate_limit": 0})
    return tally


def _final_state(served: Served) -> tuple[dict[tuple[str, str], str], set[tuple[str, int]]]:
    state = served.admin("GET", "state")
    statuses = {(s["email"], s["subscription"]): s["status"] for s in state["statuses"]}
    opted_out = {(o["email"], o["business_unit"]) for o in state["opt_outs"]}
    return statuses, opted_out


def run_load(db: Path, clients: int, calls: int, rate_limit: int) -> None:
    flags = ("--db", str(db), "--rate-limit", str(rate_limit), "--rate-window-ms", "1000")
    flags += ("--token", TOKEN)
    with serve_cli(SEED, *flags) as served:
        tally = asyncio.run(_load(served, clients, calls))
        assert tally.problems == []

        # Every call counted once, under its operation and the status it was answered.
        counts = served.admin("GET", "requests")
        seen: dict[str, dict[str, int]] = {}
        for (operation, status), n in sorted(tally.answers.items()):
            seen.setdefault(operation, {})[status] = n
        assert counts["by_operation_status"] == seen
        assert counts["total"] == sum(tally.answers.values())
        limited = sum(n for (_, status), n in tally.answers.items() if status == "429")
        assert limited >= 2 * clients

        # The daily usage counts every request let through (this read of it included).
        usage = served.call("GET", "/account-info/v3/api-usage/daily/private-apps")
        (daily,) = usage.json()["results"]
        assert daily["currentUsage"] == sum(tally.answers.values()) - limited + 1

        # The write log holds exactly the inputs sent, each attempt with its outcome.
        log = served.admin("GET", "writes")["writes"]
        assert Counter(_key(w["operation"], w["input"]) for w in log) == tally.sent
        assert (
            Counter(_key(w["operation"], [w["input"], w["outcome"]]) for w in log) == tally.outcomes
        )
        assert [w["seq"] for w in log] == list(range(1, len(log) + 1))

        statuses, opted_out = _final_state(served)

    # Replayed in its order, the write log gives the final state: it is in the order
    # the changes were made.
    replay = Model()
    for entry in log:
        if entry["outcome"] != "applied":
            continue
        if entry["operation"] in ("statuses.write", "statuses.batch.write"):
            item = entry["input"]
            replay.write(
                item["subscriberIdString"], str(item["subscriptionId"]), item["statusState"]
            )
        else:
            replay.unsubscribe_all(entry["input"], entry["brand"])
    assert {k: v for k, v in replay.statuses.items() if v != "NOT_SPECIFIED"} == {
        k: v for k, v in statuses.items() if v != "NOT_SPECIFIED"
    }
    assert replay.opted_out == opted_out
    want_statuses: dict[tuple[str, str], str] = {}
    want_opted_out: set[tuple[str, int]] = set()
    for _own, model in tally.models:
        want_statuses.update(model.statuses)
        want_opted_out |= model.opted_out
    for email, sub in tally.shared_unsubscribed:
        want_statuses[(email, sub)] = "UNSUBSCRIBED"
    for email, brand in tally.shared_opted_out:
        want_opted_out.add((email, brand))
        for sub in BRANDS[brand]:
            want_statuses[(email, sub)] = "UNSUBSCRIBED"
    # A status written back to NOT_SPECIFIED is stored as such; one never written is
    # absent from the state and reads NOT_SPECIFIED.
    assert {k: v for k, v in statuses.items() if v != "NOT_SPECIFIED"} == {
        k: v for k, v in want_statuses.items() if v != "NOT_SPECIFIED"
    }
    assert opted_out == want_opted_out

    # The same state after a restart on the same --db (the seed is not applied again).
    with serve_cli(SEED, *flags) as served:
        assert _final_state(served) == (statuses, opted_out)


def test_concurrent_clients_lose_and_corrupt_nothing(tmp_path: Path) -> None:
    """16 clients × 25 calls at once, rate limited: every answer right, every count exact."""
    run_load(tmp_path / "load.db", clients=16, calls=25, rate_limit=40)


@pytest.mark.slow
def test_concurrent_clients_at_length(tmp_path: Path) -> None:
    """32 clients × 300 calls at once (make soak)."""
    run_load(tmp_path / "load.db", clients=32, calls=300, rate_limit=100)
