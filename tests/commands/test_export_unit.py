"""The pure parts of export: reading subscriber lists, YAML scalars, alias suggestions."""

from __future__ import annotations

import asyncio
import io

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reconciler.errors import UsageError
from reconciler.export import (
    NOTHING_TO_MANAGE,
    ExportStats,
    alias_line,
    export_subscribers,
    read_subscriber_list,
    slug,
    suggest_aliases,
    yaml_scalar,
)
from reconciler.model import Definition, LiveState, LiveStatus, PairKey, Status

U = Status.UNSUBSCRIBED


def test_one_email_per_line_sorted_and_deduplicated() -> None:
    """Addresses are trimmed, lower-cased, de-duplicated and sorted; blanks and # skipped."""
    lines = ["# team\n", "  Bob@Example.com \r\n", "\n", "ann@example.com\n", "bob@example.com\n"]
    assert read_subscriber_list(lines, "list.txt") == ["ann@example.com", "bob@example.com"]


def test_one_column_header_is_skipped() -> None:
    """A first line that is just 'email' is a header."""
    assert read_subscriber_list(["Email\n", "ann@example.com\n"], "l") == ["ann@example.com"]


def test_csv_with_an_email_column_anywhere() -> None:
    """CSV: the 'email' column is found by name (any case), quoted cells included."""
    lines = ['name,"E-mail",EMAIL\n', '"Doe, Ann",x,ann@example.com\n', "Bob,y,BOB@example.com\n"]
    assert read_subscriber_list(lines, "c.csv") == ["ann@example.com", "bob@example.com"]


def test_byte_order_mark_is_ignored() -> None:
    """A spreadsheet's byte-order mark before the header does not hide the email column."""
    assert read_subscriber_list(["\ufeffemail,name\n", "a@example.com,A\n"], "c") == [
        "a@example.com"
    ]


def test_csv_row_without_the_column_is_an_error() -> None:
    """A CSV row too short to have an email cell names its line."""
    with pytest.raises(UsageError) as caught:
        read_subscriber_list(["name,email\n", "Ann\n"], "c.csv")
    assert caught.value.message == "c.csv:2:4: '' is not an email address"


def test_every_bad_line_is_counted() -> None:
    """The first bad line is named with its column; the others are counted."""
    with pytest.raises(UsageError) as caught:
        read_subscriber_list(["ok@example.com\n", "  nope\n", "a b@example.com\n", "x@\n"], "l")
    assert caught.value.message == "l:2:3: 'nope' is not an email address (and 2 more bad lines)"


def test_an_empty_list_is_empty() -> None:
    """An empty file gives no subscribers (and no error)."""
    assert read_subscriber_list([], "empty") == []


@pytest.mark.parametrize(
    ("name", "alias"),
    [
        ("Product Updates", "product-updates"),
        ("  Événements & Co. 2026 ", "v-nements-co-2026"),
        ("---", ""),
        ("A" * 80, "a" * 48),
    ],
)
def test_slug(name: str, alias: str) -> None:
    """Names become lower-case, hyphenated aliases of at most 48 characters."""
    assert slug(name) == alias


def test_suggested_aliases_are_unique_and_valid() -> None:
    """Clashing names get the id appended; names without letters fall back to the id."""
    definitions = [
        Definition("102", "News", brand=0),
        Definition("201", "News", brand=5),
        Definition("101", "Newsletter", brand=0),
        Definition("7", "!!!", brand=0),
    ]
    assert suggest_aliases(definitions) == {
        "7": "subscription",
        "101": "newsletter",
        "102": "news",
        "201": "news-201",
    }


def test_alias_line_names_the_brand_when_not_default() -> None:
    """The pasted line says business_unit only for brands other than 0."""
    assert alias_line("a", Definition("101", "A")) == 'a: {id: "101"}'
    assert alias_line("b", Definition("201", "B", brand=5)) == 'b: {id: "201", business_unit: 5}'


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("ann@example.com", "ann@example.com"),
        ("yes", '"yes"'),
        ("12", '"12"'),
        ("1e3", '"1e3"'),
        ("null", '"null"'),
        ("a: b", '"a: b"'),
        ("#x", '"#x"'),
        ('say "hi"\n', '"say \\"hi\\"\\n"'),
    ],
)
def test_yaml_scalar_quotes_only_when_needed(text: str, shown: str) -> None:
    """Plain when unambiguous, double-quoted otherwise."""
    assert yaml_scalar(text) == shown


@given(st.text(max_size=40))
def test_yaml_scalar_round_trips(text: str) -> None:
    """Any text written as a scalar reads back as the same text."""
    assert yaml.safe_load(f"key: {yaml_scalar(text)}\n") == {"key": text}


@given(st.text(max_size=40))
def test_yaml_scalar_round_trips_as_a_key(text: str) -> None:
    """Any text written as a mapping key reads back as the same key."""
    assert yaml.safe_load(f"{yaml_scalar(text)}: 1\n") == {text: 1}


class _Client:
    """Stands in for HubSpotClient: answers ``read`` from a fixed LiveState, counting calls."""

    def __init__(self, live: LiveState) -> None:
        self.live = live
        self.reads: list[dict[int, list[str]]] = []

    async def read(self, subscribers: dict[int, list[str]]) -> LiveState:
        self.reads.append({b: list(e) for b, e in subscribers.items()})
        return self.live


def _export(live: LiveState, emails: list[str], **kw: object) -> tuple[str, ExportStats, _Client]:
    client = _Client(live)
    out = io.StringIO()
    stats = asyncio.run(
        export_subscribers(client, emails, out, brand=0, aliases={"11": "news"}, **kw)  # type: ignore[arg-type]
    )
    return out.getvalue(), stats, client


def test_nobody_to_manage_writes_an_empty_mapping_and_comments() -> None:
    """Subscribers HubSpot lists nothing for become comments; the file stays valid YAML."""
    text, stats, _ = _export(LiveState(), ["a@example.com", "b@example.com"])
    assert text == (
        "version: 1\nbusiness_unit: 0\n"
        f"  # a@example.com: {NOTHING_TO_MANAGE}\n"
        f"  # b@example.com: {NOTHING_TO_MANAGE}\n"
        "subscribers: {}\n"
    )
    assert yaml.safe_load(text) == {"version": 1, "business_unit": 0, "subscribers": {}}
    assert (stats.subscribers, stats.nothing) == (2, 2)


def test_chunks_follow_the_sorted_list() -> None:
    """Each chunk is one read of the next addresses, in order."""
    emails = [f"u{i}@example.com" for i in range(5)]
    _, _, client = _export(LiveState(), emails, chunk_size=2)
    assert client.reads == [{0: emails[0:2]}, {0: emails[2:4]}, {0: emails[4:5]}]


def test_other_brands_and_unaliased_ids_are_not_written() -> None:
    """Only statuses of the file's brand with an alias are written; the rest are counted."""
    live = LiveState(
        statuses={
            PairKey(0, "a@example.com", "11"): LiveStatus(PairKey(0, "a@example.com", "11"), U),
            PairKey(0, "a@example.com", "12"): LiveStatus(PairKey(0, "a@example.com", "12"), U),
            PairKey(5, "a@example.com", "11"): LiveStatus(PairKey(5, "a@example.com", "11"), U),
        }
    )
    text, stats, _ = _export(live, ["a@example.com"])
    assert text.endswith("subscribers:\n  a@example.com:\n    news: unsubscribed\n")
    assert stats.left_out == {"12": 1}


@pytest.mark.parametrize("address", ["a..b@example.com", "ann@localhost", "ann@-bad.example"])
def test_list_refuses_what_validate_refuses(address: str) -> None:
    """Export accepts only addresses the config language accepts, so its file validates."""
    with pytest.raises(UsageError) as caught:
        read_subscriber_list([f"{address}\n"], "list.txt")
    assert caught.value.message.startswith(f"list.txt:1:1: '{address}' is not an email address")
