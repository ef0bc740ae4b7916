"""Batch reads over hand-built HubSpot answers: chunking, shapes, partial answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from reconciler.errors import ApiError, AuthError, TransportError
from reconciler.model import (
    DesiredOptOut,
    DesiredState,
    DesiredStatus,
    LiveOptOut,
    LiveStatus,
    PairKey,
    ReadScope,
    Status,
    SubscriberKey,
)

from .conftest import (
    PREFIX,
    FakeHubSpot,
    envelope,
    make_client,
    public_status,
    read_handler,
    reply,
    run,
    standard_error,
    wide_status,
)

READ = f"POST {PREFIX}/statuses/batch/read"
WIDE = f"POST {PREFIX}/statuses/batch/unsubscribe-all/read"


def _read(server: FakeHubSpot, subscribers: dict[int, list[str]], **kw: object):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with make_client(server, **kw) as client:  # type: ignore[arg-type]
            return await client.read(subscribers), client.stats

    return run(go())


def test_read_sends_one_status_and_one_wide_call_per_chunk() -> None:
    """Each chunk is one status read and one wide read, with channel and brand."""
    server = FakeHubSpot(read_handler())
    _read(server, {5: ["a@example.com", "b@example.com"]})
    assert sorted(server.paths()) == [READ, WIDE]
    for seen in server.seen:
        assert seen.params == {"channel": "EMAIL", "businessUnitId": "5"}
        assert seen.body == {"inputs": ["a@example.com", "b@example.com"]}


def test_read_chunks_by_batch_size() -> None:
    """Five subscribers in batches of two take three calls of each kind."""
    server = FakeHubSpot(read_handler())
    emails = [f"p{i}@example.com" for i in range(5)]
    _read(server, {0: emails}, batch_size=2)
    assert server.paths().count(READ) == 3
    assert server.paths().count(WIDE) == 3
    sent = sorted(e for s in server.seen if s.path.endswith("batch/read") for e in s.body["inputs"])
    assert sent == emails


def test_read_of_nobody_makes_no_call() -> None:
    """No subscribers, no requests, an empty live state."""
    server = FakeHubSpot()
    live, stats = _read(server, {})
    assert server.seen == []
    assert dict(live.statuses) == {}
    assert stats.total_requests == 0


def test_read_normalises_and_dedupes_emails() -> None:
    """Emails are trimmed and lower-cased and each is asked once."""
    server = FakeHubSpot(read_handler())
    _read(server, {0: [" Alice@Example.COM ", "alice@example.com"]})
    assert server.seen[0].body == {"inputs": ["alice@example.com"]}


def test_status_with_every_field_is_read() -> None:
    """A full PublicStatus becomes a LiveStatus keyed by brand, email and id string."""
    server = FakeHubSpot(
        read_handler(
            {
                "a@example.com": [
                    public_status(
                        "a@example.com",
                        101,
                        "SUBSCRIBED",
                        businessUnitId=0,
                        legalBasis="CONSENT_WITH_NOTICE",
                        legalBasisExplanation="form 7",
                        subscriptionName="Newsletter",
                    )
                ]
            }
        )
    )
    live, _ = _read(server, {0: ["a@example.com"]})
    key = PairKey(0, "a@example.com", "101")
    assert live.statuses[key] == LiveStatus(
        key=key,
        status=Status.SUBSCRIBED,
        timestamp=datetime(2026, 5, 4, 10, 11, 12, 345000, tzinfo=UTC),
        source="PORTAL",
        legal_basis="CONSENT_WITH_NOTICE",
        legal_basis_explanation="form 7",
        subscription_name="Newsletter",
    )


def test_null_optional_fields_are_tolerated() -> None:
    """Null businessUnitId, legal basis, name, source and timestamp read as absent."""
    status = public_status(
        "a@example.com",
        102,
        "UNSUBSCRIBED",
        businessUnitId=None,
        legalBasis=None,
        legalBasisExplanation=None,
        subscriptionName=None,
        source=None,
        timestamp=None,
    )
    server = FakeHubSpot(read_handler({"a@example.com": [status]}))
    live, _ = _read(server, {7: ["a@example.com"]})
    key = PairKey(7, "a@example.com", "102")
    assert live.statuses[key] == LiveStatus(key=key, status=Status.UNSUBSCRIBED)


def test_unknown_extra_fields_are_ignored() -> None:
    """Fields the specs do not list, at every level, change nothing."""
    status = public_status("a@example.com", 101, futureField={"x": 1}, sourceOfSource="API")

    def handle(request):  # type: ignore[no-untyped-def]
        if request.url.path.endswith("unsubscribe-all/read"):
            row = {"subscriberIdString": "a@example.com", "wideStatuses": [], "extra": 1}
        else:
            row = {"subscriberIdString": "a@example.com", "statuses": [status], "extra": [1]}
        return reply(200, envelope([row], newTopLevel="x", numErrors=0))

    live, _ = _read(FakeHubSpot(handle), {0: ["a@example.com"]})
    assert live.status_of(PairKey(0, "a@example.com", "101")) is Status.SUBSCRIBED


def test_v3_not_subscribed_reads_as_unsubscribed() -> None:
    """v3's NOT_SUBSCRIBED is the same as UNSUBSCRIBED."""
    server = FakeHubSpot(
        read_handler({"a@example.com": [public_status("a@example.com", 101, "NOT_SUBSCRIBED")]})
    )
    live, _ = _read(server, {0: ["a@example.com"]})
    assert live.status_of(PairKey(0, "a@example.com", "101")) is Status.UNSUBSCRIBED


def test_statuses_of_another_brand_keep_their_own_brand() -> None:
    """A status naming businessUnitId 9 in a brand-0 read is keyed by brand 9."""
    server = FakeHubSpot(
        read_handler({"a@example.com": [public_status("a@example.com", 901, businessUnitId=9)]})
    )
    live, _ = _read(server, {0: ["a@example.com"]})
    assert list(live.statuses) == [PairKey(9, "a@example.com", "901")]


def test_result_email_is_matched_case_insensitively() -> None:
    """HubSpot may spell the address with capitals; it is the same subscriber."""
    server = FakeHubSpot(
        read_handler(
            {"a@example.com": [public_status("A@Example.com", 101)]},
        )
    )
    live, _ = _read(server, {0: ["a@example.com"]})
    assert PairKey(0, "a@example.com", "101") in live.statuses


def test_empty_wide_status_list_means_not_opted_out() -> None:
    """An empty wideStatuses list reads as not opted out."""
    live, _ = _read(FakeHubSpot(read_handler()), {3: ["a@example.com"]})
    assert live.opt_outs[SubscriberKey(3, "a@example.com")] == LiveOptOut(
        SubscriberKey(3, "a@example.com"), False
    )


def test_explicit_subscribed_wide_status_means_not_opted_out() -> None:
    """A wide status of SUBSCRIBED is not an opt-out."""
    server = FakeHubSpot(
        read_handler(wide={"a@example.com": [wide_status("a@example.com", "SUBSCRIBED")]})
    )
    live, _ = _read(server, {0: ["a@example.com"]})
    assert live.opted_out(SubscriberKey(0, "a@example.com")) is False
    assert live.opt_outs[SubscriberKey(0, "a@example.com")].wide_status_type == (
        "BUSINESS_UNIT_WIDE"
    )


def test_unsubscribed_wide_status_is_an_opt_out() -> None:
    """Only status UNSUBSCRIBED means opted out of all email of the brand."""
    server = FakeHubSpot(
        read_handler(wide={"a@example.com": [wide_status("a@example.com", businessUnitId=0)]})
    )
    live, _ = _read(server, {0: ["a@example.com"]})
    assert live.opted_out(SubscriberKey(0, "a@example.com")) is True


def test_portal_wide_opt_out_covers_the_brand_read() -> None:
    """A PORTAL_WIDE opt-out keyed to brand 0 also opts out the brand that was read."""
    item = wide_status("a@example.com", wideStatusType="PORTAL_WIDE", businessUnitId=0)
    server = FakeHubSpot(read_handler(wide={"a@example.com": [item]}))
    live, _ = _read(server, {4: ["a@example.com"]})
    assert live.opted_out(SubscriberKey(0, "a@example.com")) is True
    assert live.opted_out(SubscriberKey(4, "a@example.com")) is True


def test_brand_wide_opt_out_of_another_brand_stays_there() -> None:
    """A BUSINESS_UNIT_WIDE opt-out of brand 2 does not opt out brand 4."""
    item = wide_status("a@example.com", businessUnitId=2)
    server = FakeHubSpot(read_handler(wide={"a@example.com": [item]}))
    live, _ = _read(server, {4: ["a@example.com"]})
    assert live.opted_out(SubscriberKey(2, "a@example.com")) is True
    assert live.opted_out(SubscriberKey(4, "a@example.com")) is False


def test_207_with_a_missing_subscriber_raises() -> None:
    """A 207 whose results lack a subscriber fails the read, naming count and error."""

    def handle(request):  # type: ignore[no-untyped-def]
        if request.url.path.endswith("unsubscribe-all/read"):
            return reply(
                200,
                envelope(
                    [
                        {"subscriberIdString": e, "wideStatuses": []}
                        for e in ("a@example.com", "b@example.com")
                    ]
                ),
            )
        return reply(
            207,
            envelope(
                [{"subscriberIdString": "a@example.com", "statuses": []}],
                errors=[standard_error("Contact b@example.com could not be read")],
                numErrors=1,
            ),
        )

    with pytest.raises(ApiError) as caught:
        _read(FakeHubSpot(handle), {0: ["a@example.com", "b@example.com"]})
    assert caught.value.message == (
        "could not read 1 of 2 subscribers; first error: "
        f"{READ}: VALIDATION_ERROR: Contact b@example.com could not be read"
    )
    assert caught.value.unread == ((0, "b@example.com"),)


def test_200_with_errors_and_a_missing_subscriber_raises() -> None:
    """200 with errors[] and numErrors is a partial answer too."""

    def handle(request):  # type: ignore[no-untyped-def]
        if request.url.path.endswith("unsubscribe-all/read"):
            return reply(
                200,
                envelope([], errors=[standard_error("internal problem")], numErrors=1),
            )
        return reply(200, envelope([{"subscriberIdString": "a@example.com", "statuses": []}]))

    with pytest.raises(
        ApiError,
        match=r"could not read 1 of 1 subscribers; first error: .*"
        r"internal problem",
    ):
        _read(FakeHubSpot(handle), {0: ["a@example.com"]})


def test_missing_subscriber_without_errors_still_raises() -> None:
    """A subscriber absent from results with no error given is unconfirmed: no plan."""

    def handle(request):  # type: ignore[no-untyped-def]
        return reply(200, envelope([]))

    with pytest.raises(ApiError) as caught:
        _read(FakeHubSpot(handle), {0: ["a@example.com"]})
    assert caught.value.message == (
        f"could not read 1 of 1 subscribers; first error: {READ}: some subscribers are "
        "missing from HubSpot's results"
    )
    assert caught.value.unread == ((0, "a@example.com"),)


def test_pending_envelope_is_asked_again() -> None:
    """A PENDING read answer is not final; reading is safe, so it is asked again."""
    pending = reply(200, envelope([], status="PENDING"))
    server = FakeHubSpot(read_handler(), replies=[pending])
    live, stats = _read(server, {0: ["a@example.com"]})
    assert live.opted_out(SubscriberKey(0, "a@example.com")) is False
    assert len(server.seen) == 3
    assert stats.retries == 1


def test_pending_envelope_that_stays_pending_raises() -> None:
    """A read that never becomes final fails, saying how often it was PENDING."""

    def handle(request):  # type: ignore[no-untyped-def]
        rows = [{"subscriberIdString": "a@example.com", "statuses": [], "wideStatuses": []}]
        return reply(200, envelope(rows, status="PENDING"))

    with pytest.raises(ApiError) as caught:
        _read(FakeHubSpot(handle), {0: ["a@example.com"]}, max_attempts=2)
    assert caught.value.message == (
        "could not read 1 of 1 subscribers; first error: "
        f"{READ}: HubSpot answered PENDING 2 times; the results are not final"
    )


def test_null_results_list_reads_as_empty() -> None:
    """results: null is an empty list, so the subscriber is unconfirmed."""

    def handle(request):  # type: ignore[no-untyped-def]
        return reply(200, {"status": "COMPLETE", "results": None, "errors": None})

    with pytest.raises(ApiError, match="could not read 1 of 1 subscribers"):
        _read(FakeHubSpot(handle), {0: ["a@example.com"]})


def test_status_without_subscription_id_fails_clearly() -> None:
    """A status entry lacking subscriptionId cannot be placed: a clear error, no skip."""
    bad = public_status("a@example.com", 101)
    bad["subscriptionId"] = None
    server = FakeHubSpot(read_handler({"a@example.com": [bad]}))
    with pytest.raises(ApiError, match=r"the status of a@example\.com has no subscriptionId"):
        _read(server, {0: ["a@example.com"]})


def test_unknown_status_value_fails_clearly() -> None:
    """A status HubSpot never documented is an error naming it."""
    server = FakeHubSpot(
        read_handler({"a@example.com": [public_status("a@example.com", 101, "MAYBE")]})
    )
    with pytest.raises(ApiError, match="unknown status 'MAYBE'"):
        _read(server, {0: ["a@example.com"]})


def test_progress_counts_every_subscriber_once() -> None:
    """on_progress adds up to the number of subscribers read."""
    calls: list[int] = []
    emails = [f"p{i}@example.com" for i in range(5)]
    _read(
        FakeHubSpot(read_handler()),
        {0: emails, 1: emails[:2]},
        batch_size=2,
        on_progress=calls.append,
    )
    assert sorted(calls) == [1, 2, 2, 2]
    assert sum(calls) == 7


def test_read_counts_requests_per_operation() -> None:
    """stats counts each kind of read."""
    _, stats = _read(FakeHubSpot(read_handler()), {0: ["a@example.com"], 1: ["b@example.com"]})
    assert stats.requests == {"read_statuses": 2, "read_wide": 2}


def test_chunks_run_concurrently_up_to_the_limit() -> None:
    """Ten chunks with concurrency 3 keep exactly three requests in flight at the peak."""
    answer = read_handler()
    in_flight = 0
    peak = 0

    async def handle(request):  # type: ignore[no-untyped-def]
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.002)
        in_flight -= 1
        return answer(request)

    emails = [f"p{i}@example.com" for i in range(10)]
    _, stats = _read(FakeHubSpot(handle), {0: emails}, batch_size=2, concurrency=3)  # type: ignore[arg-type]
    assert peak == 3
    assert stats.max_in_flight == 3


def test_auth_failure_of_one_chunk_stops_the_read() -> None:
    """A 401 on any call raises AuthError instead of a partial-read error."""

    def handle(request):  # type: ignore[no-untyped-def]
        if request.url.params["businessUnitId"] == "1":
            return reply(401, {"category": "INVALID_AUTHENTICATION", "message": "expired"})
        return read_handler()(request)

    with pytest.raises(AuthError):
        _read(FakeHubSpot(handle), {0: ["a@example.com"], 1: ["b@example.com"]})


def test_transport_failure_after_retries_names_the_count() -> None:
    """A chunk that never gets an answer fails the read, naming how many were not read."""

    def handle(request):  # type: ignore[no-untyped-def]
        if request.url.params["businessUnitId"] == "1":
            raise httpx.ConnectError("refused")
        return read_handler()(request)

    with pytest.raises(TransportError) as caught:
        _read(
            FakeHubSpot(handle),
            {0: ["a@example.com"], 1: ["b@example.com", "c@example.com"]},
            max_attempts=2,
        )
    assert caught.value.message == (
        "could not read 2 of 3 subscribers; first error: "
        f"{READ} failed after 2 attempts: no answer from HubSpot (ConnectError: refused)"
    )


def test_a_partial_read_names_exactly_the_unread_subscribers() -> None:
    """The error's unread lists (brand, email) of each subscriber not read, and no other."""

    def handle(request):  # type: ignore[no-untyped-def]
        if request.url.params["businessUnitId"] == "1" and request.url.path.endswith("/read"):
            raise httpx.ConnectError("refused")
        return read_handler()(request)

    with pytest.raises(TransportError) as caught:
        _read(
            FakeHubSpot(handle),
            {0: ["a@example.com"], 1: ["C@example.com", "b@example.com", "d@example.com"]},
            max_attempts=1,
            batch_size=2,
        )
    assert caught.value.unread == (
        (1, "b@example.com"),
        (1, "c@example.com"),
        (1, "d@example.com"),
    )
    assert caught.value.message.startswith("could not read 3 of 4 subscribers; first error: ")


def _read_keeping(server: FakeHubSpot, emails: list[str], keep: ReadScope):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with make_client(server) as client:
            return await client.read({0: emails}, keep=keep)

    return run(go())


def test_a_read_keeping_a_scope_holds_only_its_pairs() -> None:
    """With ``keep`` the statuses of pairs outside the scope are dropped, those of another
    brand included, and the kept ones use the scope's own key objects."""
    declared = PairKey(0, "a@example.com", "101")
    keep = DesiredState(statuses={declared: _want(declared)}).read_scope()
    answers = {
        "a@example.com": [
            public_status("A@Example.com", 101, "UNSUBSCRIBED"),
            public_status("a@example.com", 102),
            public_status("a@example.com", 101, businessUnitId=9),
        ]
    }
    live = _read_keeping(FakeHubSpot(read_handler(answers)), ["a@example.com"], keep)
    assert list(live.statuses) == [declared]
    assert next(iter(live.statuses)) is declared
    assert live.statuses[declared].status is Status.UNSUBSCRIBED
    assert live.statuses[declared].source == "PORTAL"


def test_a_read_keeping_a_scope_keeps_opt_outs_and_its_flags() -> None:
    """Every opt-out of all is kept, and the wide status of a declared flag; a
    subscriber whose wide status is dropped still reads as not opted out."""
    flagged = SubscriberKey(0, "c@example.com")
    keep = DesiredState(opt_outs={flagged: DesiredOptOut(flagged, True)}).read_scope()
    wide = {
        "a@example.com": [wide_status("a@example.com", businessUnitId=0)],
        "b@example.com": [wide_status("b@example.com", "SUBSCRIBED", businessUnitId=0)],
        "c@example.com": [wide_status("c@example.com", "SUBSCRIBED", businessUnitId=0)],
    }
    emails = ["a@example.com", "b@example.com", "c@example.com"]
    live = _read_keeping(FakeHubSpot(read_handler(wide=wide)), emails, keep)
    assert sorted(live.opt_outs) == [SubscriberKey(0, "a@example.com"), flagged]
    assert live.opted_out(SubscriberKey(0, "a@example.com")) is True
    assert live.opted_out(SubscriberKey(0, "b@example.com")) is False
    assert live.opted_out(flagged) is False


def _want(key: PairKey) -> DesiredStatus:
    return DesiredStatus(key=key, status=Status.SUBSCRIBED, alias=None)
