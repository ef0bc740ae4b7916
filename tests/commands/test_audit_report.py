"""The pure audit: verdicts taken from diff, totals, and the four renderings."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from reconciler.audit import NOT_OPTED_OUT, OPTED_OUT, AuditReport, PairState, Totals, audit
from reconciler.model import (
    DesiredOptOut,
    DesiredState,
    DesiredStatus,
    LiveOptOut,
    LiveState,
    LiveStatus,
    Location,
    PairKey,
    Status,
    SubscriberKey,
)
from reconciler.plan import Target
from reconciler.redact import Redactor
from reconciler.render.audit_html import render_audit_html
from reconciler.render.audit_json import audit_document, render_audit_json
from reconciler.render.audit_markdown import render_audit_markdown
from reconciler.render.audit_text import render_audit_text
from reconciler.resources import load_schema
from tests.golden import golden_checker

GOLDEN = Path(__file__).parent / "golden"
CREATED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TARGET = Target(portal_id=12345678, api_url="http://127.0.0.1:8080", api_version="2026-03")
S, U, N = Status.SUBSCRIBED, Status.UNSUBSCRIBED, Status.NOT_SPECIFIED


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def want(
    email: str, sub: str, status: Status, *, brand: int = 0, alias: str | None = None, **kw: object
) -> DesiredStatus:
    return DesiredStatus(PairKey(brand, email, sub), status, alias=alias or f"sub-{sub}", **kw)  # type: ignore[arg-type]


def has(
    email: str, sub: str, status: Status, *, brand: int = 0, when: str = "2026-05-01T00:00:00",
    source: str = "API",
) -> LiveStatus:  # fmt: skip
    return LiveStatus(PairKey(brand, email, sub), status, at(when), source)


def state(
    *statuses: DesiredStatus, opt_outs: dict[tuple[int, str], bool] | None = None
) -> DesiredState:
    return DesiredState(
        statuses={s.key: s for s in statuses},
        opt_outs={
            SubscriberKey(b, e): DesiredOptOut(SubscriberKey(b, e), flag)
            for (b, e), flag in (opt_outs or {}).items()
        },
    )


def live(*statuses: LiveStatus, opted_out: dict[tuple[int, str], str] | None = None) -> LiveState:
    return LiveState(
        statuses={s.key: s for s in statuses},
        opt_outs={
            SubscriberKey(b, e): LiveOptOut(SubscriberKey(b, e), True, at(t), "BUSINESS_UNIT_WIDE")
            for (b, e), t in (opted_out or {}).items()
        },
    )


def every_verdict() -> AuditReport:
    """Two brands; in-sync, drifted (own change and implied) and blocked pairs and flags."""
    frank = DesiredStatus(
        PairKey(0, "frank@example.com", "101"),
        S,
        alias="newsletter",
        location=Location("subscribers/customers.yaml", 27, 5),
    )
    desired = state(
        want("alice@example.com", "101", S, alias="newsletter"),
        want("alice@example.com", "102", U, alias="product"),
        want("bob@example.com", "101", U, alias="newsletter"),
        want("carol@example.com", "103", N, alias="events"),
        frank,
        want("ivan@example.com", "201", U, brand=5, alias="outdoor-news"),
        opt_outs={
            (0, "bob@example.com"): True,
            (0, "grace@example.com"): False,
            (5, "judy@example.com"): True,
        },
    )
    current = live(
        has("alice@example.com", "101", S, source="FORM"),
        has("alice@example.com", "102", S),
        has("bob@example.com", "101", S),
        has("carol@example.com", "103", N),
        has("frank@example.com", "101", U, when="2026-10-02T08:30:00", source="SUBSCRIPTION_PAGE"),
        has("ivan@example.com", "201", U, brand=5),
        opted_out={
            (0, "grace@example.com"): "2026-09-09T09:09:09",
            (5, "judy@example.com"): "2026-01-01T00:00:00",
        },
    )
    return audit(desired, current, target=TARGET, read_calls=4)


def verdicts(report: AuditReport) -> list[tuple[int, str, str | None, str]]:
    return [(i.brand, i.email, i.subscription_id, i.state.value) for i in report.items]


check_golden = golden_checker(GOLDEN)


def test_every_managed_pair_gets_the_plans_verdict() -> None:
    """Each declared status and flag is in sync, drifted or blocked, ordered by brand and email."""
    assert verdicts(every_verdict()) == [
        (0, "alice@example.com", "101", "in_sync"),
        (0, "alice@example.com", "102", "drifted"),
        (0, "bob@example.com", None, "drifted"),
        (0, "bob@example.com", "101", "drifted"),
        (0, "carol@example.com", "103", "in_sync"),
        (0, "frank@example.com", "101", "blocked"),
        (0, "grace@example.com", None, "blocked"),
        (5, "ivan@example.com", "201", "in_sync"),
        (5, "judy@example.com", None, "in_sync"),
    ]


def test_an_unsubscribe_carried_by_unsubscribe_all_is_drift_marked_implied() -> None:
    """bob's newsletter unsubscribe rides on his unsubscribe-all: drifted, action 'implied'."""
    report = every_verdict()
    item = next(i for i in report.items if i.email == "bob@example.com" and i.subscription_id)
    assert (item.state, item.action) == (PairState.DRIFTED, "implied")


def test_blocked_pair_carries_diffs_reason_and_live_source() -> None:
    """A blocked pair keeps diff's reason, the opt-out time and HubSpot's source."""
    item = next(i for i in every_verdict().items if i.email == "frank@example.com")
    assert item.reason == (
        "unsubscribed from newsletter since 2026-10-02T08:30:00Z (source: SUBSCRIPTION_PAGE); "
        "set resubscribe: true with legal_basis and legal_basis_explanation to re-subscribe"
    )
    assert (item.live, item.live_source, item.location) == (
        "UNSUBSCRIBED", "SUBSCRIPTION_PAGE", "subscribers/customers.yaml:27:5"
    )  # fmt: skip


def test_opt_out_flags_read_as_opted_out_or_not() -> None:
    """unsubscribe_all rows spell wanted and live as OPTED_OUT / NOT_OPTED_OUT with the scope."""
    grace = next(i for i in every_verdict().items if i.email == "grace@example.com")
    assert (grace.wanted, grace.live, grace.live_scope) == (
        NOT_OPTED_OUT, OPTED_OUT, "BUSINESS_UNIT_WIDE"
    )  # fmt: skip


def test_totals_per_brand_and_per_subscription() -> None:
    """Totals come overall, per brand, and per subscription with the opt-out flags first."""
    report = every_verdict()
    assert report.totals == Totals(in_sync=4, drifted=3, blocked=2)
    assert [(b.brand, b.totals) for b in report.brands()] == [
        (0, Totals(2, 3, 2)),
        (5, Totals(2, 0, 0)),
    ]
    assert [(s.brand, s.subscription_id, s.alias, s.totals) for s in report.subscriptions()] == [
        (0, None, None, Totals(0, 1, 1)),
        (0, "101", "newsletter", Totals(1, 1, 1)),
        (0, "102", "product", Totals(0, 1, 0)),
        (0, "103", "events", Totals(1, 0, 0)),
        (5, None, None, Totals(1, 0, 0)),
        (5, "201", "outdoor-news", Totals(1, 0, 0)),
    ]


def test_a_matching_config_is_in_sync() -> None:
    """No drifted and no blocked pair: the report is in sync."""
    report = audit(state(want("a@example.com", "101", U)), live(has("a@example.com", "101", U)))
    assert report.in_sync
    assert report.totals == Totals(in_sync=1)


def test_blocked_alone_is_drift() -> None:
    """A report whose only difference is blocked is not in sync."""
    report = audit(state(want("a@example.com", "101", S)), live(has("a@example.com", "101", U)))
    assert (report.in_sync, report.totals) == (False, Totals(blocked=1))


def test_an_unlisted_live_status_reads_as_not_specified() -> None:
    """A pair HubSpot does not list is NOT_SPECIFIED, with no time and no source."""
    item = audit(state(want("a@example.com", "101", N)), live()).items[0]
    assert (item.state, item.live, item.live_timestamp, item.live_source) == (
        PairState.IN_SYNC, "NOT_SPECIFIED", None, None
    )  # fmt: skip


def test_text_golden() -> None:
    """The text report: totals first, then drifted and blocked pairs with live details."""
    check_golden("audit-every-verdict.txt", render_audit_text(every_verdict()))


def test_markdown_golden() -> None:
    """The Markdown report: totals tables and collapsible sections per verdict."""
    check_golden("audit-every-verdict.md", render_audit_markdown(every_verdict()))


def test_json_golden() -> None:
    """The JSON report document."""
    check_golden("audit-every-verdict.json", render_audit_json(every_verdict(), created_at=CREATED))


def test_html_golden() -> None:
    """The HTML report."""
    check_golden("audit-every-verdict.html", render_audit_html(every_verdict(), created_at=CREATED))


@pytest.mark.parametrize("redact", [False, True])
def test_json_validates_against_the_audit_schema(redact: bool) -> None:
    """Every rendered audit document validates against schemas/audit.schema.json."""
    validator = jsonschema.Draft202012Validator(load_schema("audit.schema.json"))
    for report in (every_verdict(), audit(state(), live()), AuditReport()):
        mask = Redactor(enabled=redact)
        document = json.loads(render_audit_json(report, created_at=CREATED, redactor=mask))
        validator.validate(document)


def test_in_sync_text_ends_with_in_sync() -> None:
    """An in-sync report's text ends by saying so."""
    report = audit(state(want("a@example.com", "101", U)), live(has("a@example.com", "101", U)))
    assert render_audit_text(report).endswith("\nIn sync: HubSpot matches the config.\n")


def test_text_colour_only_when_asked() -> None:
    """Colour codes appear only with color=True."""
    report = every_verdict()
    assert "\x1b[" not in render_audit_text(report)
    assert "\x1b[33m" in render_audit_text(report, color=True)


RENDERERS = {
    "text": lambda r, m: render_audit_text(r, redactor=m),
    "json": lambda r, m: render_audit_json(r, created_at=CREATED, redactor=m),
    "markdown": lambda r, m: render_audit_markdown(r, redactor=m),
    "html": lambda r, m: render_audit_html(r, created_at=CREATED, redactor=m),
}


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_redact_masks_every_email_in_every_format(fmt: str) -> None:
    """With a redactor, no real address is left, in items or in reasons, in any format."""
    desired = state(want("frank@example.com", "101", S, alias="newsletter"))
    current = live(has("frank@example.com", "101", U, source="frank@example.com via form"))
    report = audit(desired, current, target=TARGET)
    out = RENDERERS[fmt](report, Redactor(key=b"k" * 32))
    assert "frank@example.com" not in out
    assert re.search(r"subscriber-[0-9a-f]{8}@example\.com", out)


def test_redact_masks_an_address_inside_a_reason_in_text() -> None:
    """Masks are stable: the same address gets the same mask in the row and the reason."""
    desired = state(want("frank@example.com", "101", S, alias="newsletter"))
    report = audit(desired, live(has("frank@example.com", "101", U)), target=TARGET)
    masked = Redactor(key=b"k" * 32).email("frank@example.com")
    out = render_audit_text(report, redactor=Redactor(key=b"k" * 32))
    assert f"brand 0 {masked} newsletter (101)" in out


def test_markdown_is_capped() -> None:
    """A huge report stays under the limit and says how many rows were left out."""
    many = [want(f"user{i:05d}@example.com", "101", U) for i in range(3000)]
    report = audit(state(*many), live())
    out = render_audit_markdown(report, limit=20_000)
    assert len(out) <= 20_000
    assert out.rstrip().endswith(
        "run `hsprefs audit --format json` or `--format html` for the full report._"
    )


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.text: list[str] = []
        self.states: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.refs += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag == "tr" and "data-state" in values:
            self.states.append(values["data-state"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained() -> None:
    """No src or href attributes at all, and a CSP that forbids loading anything."""
    out = render_audit_html(every_verdict(), created_at=CREATED)
    parser = _Collector()
    parser.feed(out)
    assert parser.refs == []
    assert "default-src 'none'" in out
    assert "http://" not in out.replace("http://127.0.0.1:8080", "")
    assert "https://" not in out


def test_html_rows_carry_their_verdict_for_the_filter() -> None:
    """Every pair is one row whose data-state the inline filter reads."""
    parser = _Collector()
    parser.feed(render_audit_html(every_verdict(), created_at=CREATED))
    assert parser.states == [i.state.value for i in every_verdict().items]


def test_html_escapes_values_from_outside() -> None:
    """Sources, reasons and aliases from HubSpot or the config are escaped, never markup."""
    evil = "<script>alert(1)</script>"
    desired = state(want("a@example.com", "101", S, alias='"><img src=x>'))
    current = live(has("a@example.com", "101", U, source=evil))
    out = render_audit_html(audit(desired, current, target=TARGET))
    assert evil not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<img src=x>" not in out
    parser = _Collector()
    parser.feed(out)
    assert parser.refs == []


def test_document_counts_match_items() -> None:
    """The JSON totals equal the number of items of each verdict."""
    document = audit_document(every_verdict())
    states = [item["state"] for item in document["items"]]
    counted = {s: states.count(s) for s in ("in_sync", "drifted", "blocked")}
    assert counted == {k: document["totals"][k] for k in counted}
    assert document["in_sync"] is False


def test_markdown_cells_cannot_break_out_of_the_table() -> None:
    """A HubSpot source with markup, pipes and backticks stays inside its one cell."""
    evil = "</details><!-- x --> <b>`|` & [link]"
    desired = state(want("a@example.com", "101", S))
    current = live(has("a@example.com", "101", U, source=evil))
    out = render_audit_markdown(audit(desired, current, target=TARGET))
    row = next(line for line in out.splitlines() if line.startswith("| brand 0 | a@example"))
    safe = r"&lt;/details&gt;&lt;!-- x --&gt; &lt;b&gt;\`\|\` &amp; \[link\]"
    assert row == (
        f"| brand 0 | a@example.com | sub-101 (101) | subscribed | unsubscribed, since "
        f"2026-05-01 00:00 UTC, by {safe} | HubSpot: none; config: none | HubSpot differs "
        "from the config, but the consent rules forbid the change, so apply sends nothing "
        "for it. Why: unsubscribed from sub-101 since "
        f"2026-05-01T00:00:00Z (source: {safe}); set resubscribe: true with legal\\_basis "
        "and legal\\_basis\\_explanation to re-subscribe |"
    )
