"""Renderers: golden files for text, Markdown and JSON, colour rules, redaction, caps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from reconciler.diff import diff
from reconciler.model import LiveState, LiveStatus, Location, PairKey, Policy
from reconciler.plan import Plan, Target
from reconciler.planfile import render_json
from reconciler.redact import Redactor
from reconciler.render import render_markdown, render_text
from reconciler.render.markdown import MARKDOWN_LIMIT, markdown_cell
from reconciler.resources import load_schema
from tests.golden import golden_checker
from tests.plan.builders import N, S, U, at, desired, live, live_status, want

GOLDEN = Path(__file__).parent / "golden"
CREATED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TARGET = Target(portal_id=12345678, api_url="http://127.0.0.1:8080", api_version="2026-03")


def every_kind_plan() -> Plan:
    """A plan with each change kind, a blocked pair, an implied unsubscribe and two brands."""
    alice_n = want(
        S, email="alice@example.com", sub="101", basis="CONSENT_WITH_NOTICE", explanation="web form"
    )
    alice_p = want(U, email="alice@example.com", sub="102")
    carol = want(N, email="carol@example.com", sub="103")
    bob = want(U, email="bob@example.com", sub="101")
    frank = want(S, email="frank@example.com", sub="101")
    ivan = want(U, email="ivan@example.com", sub="201", brand=5)
    frank = type(frank)(
        key=frank.key,
        status=frank.status,
        alias="newsletter",
        location=Location("subscribers/customers.yaml", 27, 5),
    )
    state = desired(
        alice_n, alice_p, carol, bob, frank, ivan, opt_outs={(0, "bob@example.com"): True}
    )
    current = live(
        live_status(S, email="alice@example.com", sub="102"),
        live_status(S, email="carol@example.com", sub="103"),
        live_status(S, email="bob@example.com", sub="101"),
        live_status(U, email="frank@example.com", sub="101", when="2026-10-02T08:30:00"),
        live_status(S, email="ivan@example.com", sub="201", brand=5),
    )
    return diff(state, current, Policy(), target=TARGET)


check_golden = golden_checker(GOLDEN)


def test_text_golden() -> None:
    """The text plan: summary first, changes per subscriber, blocked with reasons, calls."""
    check_golden("every-kind.txt", render_text(every_kind_plan()))


def test_markdown_golden() -> None:
    """The Markdown plan: summary table and collapsible sections."""
    check_golden("every-kind.md", render_markdown(every_kind_plan()))


def test_json_golden() -> None:
    """The JSON plan document."""
    check_golden("every-kind.json", render_json(every_kind_plan(), created_at=CREATED))


def test_no_changes_text() -> None:
    """A plan without changes says so."""
    plan = diff(desired(want(S, basis="X")), live(live_status(S)), target=TARGET)
    text = render_text(plan)
    assert text.splitlines()[0] == (
        "Plan: 0 to subscribe, 0 to unsubscribe, 0 to not-specified, 0 unsubscribe-all, "
        "0 blocked, 1 unchanged"
    )
    assert text.endswith("No changes. HubSpot matches the config.\n")


def test_json_validates_against_the_plan_schema() -> None:
    """Every rendered plan document validates against schemas/plan.schema.json."""
    schema = load_schema("plan.schema.json")
    for plan in (every_kind_plan(), diff(desired(), live(), target=TARGET)):
        for redact in (False, True):
            document = json.loads(
                render_json(plan, created_at=CREATED, redactor=Redactor(enabled=redact))
            )
            jsonschema.Draft202012Validator(schema).validate(document)


def test_colour_only_when_asked() -> None:
    """Without colour the text has no escape codes; with it, it does."""
    plan = every_kind_plan()
    assert "\x1b[" not in render_text(plan, color=False)
    assert "\x1b[32m" in render_text(plan, color=True)


@pytest.mark.parametrize("render", [render_text, render_markdown])
def test_redaction_hides_every_address_stably(render: object) -> None:
    """With --redact no address appears, and one address always gets the same mask."""
    redactor = Redactor(key=b"k" * 32)
    text = render(every_kind_plan(), redactor=redactor)  # type: ignore[operator]
    for name in ("alice", "bob", "carol", "frank", "ivan"):
        assert f"{name}@" not in text
    mask = redactor.email("alice@example.com")
    assert mask == "subscriber-" + mask.split("-")[1].split("@")[0] + "@example.com"
    assert mask in text
    assert render(every_kind_plan(), redactor=redactor) == text  # type: ignore[operator]
    assert redactor.email("alice@example.com") == mask != redactor.email("bob@example.com")


def test_markdown_is_capped_below_githubs_limit() -> None:
    """A huge plan's Markdown stays under the limit and says how much was left out."""
    statuses = [
        want(S, email=f"user{i:05d}@example.com", basis="B", explanation="E") for i in range(3000)
    ]
    plan = diff(desired(*statuses), live(), target=TARGET)
    text = render_markdown(plan)
    assert len(text) <= MARKDOWN_LIMIT
    last = text.rstrip("\n").splitlines()[-1]
    assert last.endswith(
        "more rows are not shown (GitHub comment size limit); "
        "run `hsprefs plan --format json` for the full plan._"
    )
    shown = text.count("| 0 | user")
    left = int(last.split()[0].lstrip("_"))
    assert shown + left == 3000 + len(plan.calls)


HOSTILE_SOURCE = (
    "</details><!-- x --> <script>alert(1)</script> `rm` | a & b [l](http://e) \\ end\r\nnext"
)


def test_markdown_cell_escapes_what_breaks_a_table() -> None:
    """HTML, code spans, links, pipes, backslashes and line breaks come out inert."""
    assert markdown_cell(HOSTILE_SOURCE) == (
        "&lt;/details&gt;&lt;!-- x --&gt; &lt;script&gt;alert(1)&lt;/script&gt; \\`rm\\` "
        "\\| a &amp; b \\[l\\](http://e) \\\\ end next"
    )


def test_markdown_blocked_row_with_hostile_live_source() -> None:
    """HubSpot's free-text source in a blocked reason cannot break the PR comment."""
    pair = PairKey(0, "frank@example.com", "101")
    current = LiveState(
        statuses={pair: LiveStatus(pair, U, at("2026-10-02T08:30:00"), HOSTILE_SOURCE)}
    )
    plan = diff(desired(want(S, email="frank@example.com")), current, target=TARGET)
    rows = [line for line in render_markdown(plan).splitlines() if "frank@" in line]
    assert rows == [
        "| 0 | frank@example.com | alias-101 (101) | UNSUBSCRIBED | SUBSCRIBED | unsubscribed "
        "from alias-101 since 2026-10-02T08:30:00Z (source: &lt;/details&gt;&lt;!-- x --&gt; "
        "&lt;script&gt;alert(1)&lt;/script&gt; \\`rm\\` \\| a &amp; b \\[l\\](http://e) \\\\ "
        "end next); set resubscribe: true with legal\\_basis and legal\\_basis\\_explanation "
        "to re-subscribe |"
    ]


def test_markdown_cell_escapes_emphasis_and_strikethrough() -> None:
    """Addresses and sources with *, _ or ~ are shown as written, never as emphasis."""
    assert markdown_cell("*vip*@example.com") == "\\*vip\\*@example.com"
    assert markdown_cell("~~old~~@example.com") == "\\~\\~old\\~\\~@example.com"
    assert markdown_cell("**Imported** via _form_") == "\\*\\*Imported\\*\\* via \\_form\\_"


def test_redacted_json_masks_addresses_inside_explanations() -> None:
    """No address survives --redact, wherever the config put it."""
    entry = want(
        S, basis="CONSENT_WITH_NOTICE", explanation="Confirmed by mail from pat@example.com"
    )
    out = render_json(diff(desired(entry), live()), redactor=Redactor(key=b"k" * 32))
    assert "pat@example.com" not in out


def _guarded_plan() -> Plan:
    """68 unsubscribes of 211 managed statuses (32.2%) and 2 unsubscribe-alls over a max of 1."""
    statuses = [want(U, email=f"p{i:03d}@example.com", sub="101") for i in range(209)]
    state = desired(*statuses, opt_outs={(0, "x@example.com"): True, (0, "y@example.com"): True})
    current = live(
        *(live_status(S, email=f"p{i:03d}@example.com", sub="101") for i in range(66)),
        *(live_status(U, email=f"p{i:03d}@example.com", sub="101") for i in range(66, 209)),
    )
    return diff(state, current, Policy(max_unsubscribe_all=1), target=TARGET)


GUARD = (
    "apply will refuse this plan without --allow-mass-change: 68 changes are 32.2% of 211 "
    "managed statuses (max_change_percent 30); 2 unsubscribe-all are more than "
    "max_unsubscribe_all 1"
)


def test_text_plan_says_the_guard_will_refuse() -> None:
    """The text plan's second line says what apply's guard will refuse, with the numbers."""
    lines = render_text(_guarded_plan()).splitlines()
    assert lines[1] == f"Guard: {GUARD}"


def test_markdown_plan_says_the_guard_will_refuse() -> None:
    """The Markdown plan says it under the summary table."""
    text = render_markdown(_guarded_plan())
    assert f"**Mass-change guard:** {markdown_cell(GUARD)}\n" in text
    assert text.index("Mass-change guard") < text.index("<details>")


def test_json_plan_says_the_guard_will_refuse() -> None:
    """The JSON plan's summary carries the verdict; null when the guard passes."""
    document = json.loads(render_json(_guarded_plan(), created_at=CREATED))
    assert document["summary"]["guard"] == GUARD
    quiet = json.loads(render_json(every_kind_plan(), created_at=CREATED))
    assert quiet["summary"]["guard"] is None


def test_a_plan_the_guard_passes_says_nothing_of_it() -> None:
    """No Guard line and no Markdown verdict when apply would not refuse."""
    plan = every_kind_plan()
    assert "Guard:" not in render_text(plan)
    assert "Mass-change guard" not in render_markdown(plan)
