"""The pure parts of export: reading subscriber lists, YAML scalars, alias suggestions."""

from __future__ import annotations

import asyncio
import io
import re

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reconciler.aliases import alias_line, one_line, slug, suggest_aliases, yaml_scalar
from reconciler.errors import ApiError, UsageError
from reconciler.export import (
    NOTHING_TO_MANAGE,
    ONLY_UNSET,
    ExportStats,
    export_subscribers,
    read_subscriber_list,
)
from reconciler.model import Definition, LiveState, LiveStatus, PairKey, Status
from reconciler.resources import load_schema

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
    """A CSV row too short to have an email cell names its line, as a roster does."""
    with pytest.raises(UsageError) as caught:
        read_subscriber_list(["name,email\n", "Ann\n"], "c.csv")
    assert caught.value.one_line() == (
        "c.csv:2:1: this row has no email address in the 'email' column "
        "(give one email address per line, or a CSV file with an 'email' column)"
    )


def test_every_bad_line_is_counted() -> None:
    """The first bad line is named with its column; the others are counted."""
    with pytest.raises(UsageError) as caught:
        read_subscriber_list(["ok@example.com\n", "  nope\n", "a b@example.com\n", "x@\n"], "l")
    assert caught.value.message == "l:2:3: 'nope' is not an email address (and 2 more bad lines)"


@pytest.mark.parametrize(
    "lines",
    [[], ["\n", "  \r\n"], ["# nobody yet\n"], ["email\n"], ["\ufeffname,email\r\n", ",\r\n"]],
    ids=["empty", "blank-lines", "only-a-comment", "only-a-header", "header-and-blank-row"],
)
def test_a_list_without_addresses_is_refused(lines: list[str]) -> None:
    """A list with no address at all is an error: exporting nobody would empty a file."""
    with pytest.raises(UsageError) as caught:
        read_subscriber_list(lines, "empty.txt")
    assert caught.value.one_line() == (
        "empty.txt:1:1: the subscriber list has no email address, so there is nothing to "
        "export (give one email address per line, or a CSV file with an 'email' column; "
        "nothing was written)"
    )


@pytest.mark.parametrize(
    ("name", "alias"),
    [
        ("Product Updates", "product-updates"),
        ("  Événements & Co. 2026 ", "evenements-co-2026"),
        ("Über uns", "uber-uns"),
        ("Straße, Øl & Æble", "strasse-ol-aeble"),
        ("Ｆｕｌｌｗｉｄｔｈ ﬁne", "fullwidth-fine"),
        ("Çà et là", "ca-et-la"),
        ("ニュースレター", ""),
        ("Новости", ""),
        ("---", ""),
        ("A" * 80, "a" * 48),
    ],
)
def test_slug(name: str, alias: str) -> None:
    """Names become lower-case ASCII, hyphenated, at most 48 characters; accents dropped."""
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
        "7": "subscription-7",
        "101": "newsletter",
        "102": "news",
        "201": "news-201",
    }


def test_aliases_of_names_without_ascii_letters() -> None:
    """A name in a script without an ASCII form is subscription-<id>, one per definition."""
    definitions = [
        Definition("31", "ニュースレター"),
        Definition("32", "ニュースレター"),
        Definition("33", "Новости 2026"),
        Definition("34", "Über uns"),
    ]
    assert suggest_aliases(definitions) == {
        "31": "subscription-31",
        "32": "subscription-32",
        "33": "subscription-33",
        "34": "uber-uns",
    }


def test_fallback_aliases_never_collide_with_names() -> None:
    """A name that slugs to another definition's fallback alias does not take it twice."""
    definitions = [
        Definition("5", "Subscription 9"),
        Definition("9", "ニュース"),
        Definition("12", "Subscription 9"),
    ]
    assert suggest_aliases(definitions) == {
        "5": "subscription-9",
        "9": "subscription-9-2",
        "12": "subscription-9-12",
    }


def test_a_long_name_with_a_long_id_stays_within_64_characters() -> None:
    """The -<id> of a clash shortens the name so the alias fits the language's limit."""
    name = "Quarterly product and service announcements for every customer"
    big = "9" * 19
    aliases = suggest_aliases([Definition("1", name), Definition(big, name)])
    assert aliases == {"1": slug(name), big: "quarterly-product-and-service-announcements-" + big}
    assert max(len(a) for a in aliases.values()) == 63


_ALIAS = re.compile(
    load_schema("project.schema.json")["properties"]["subscriptions"]["propertyNames"]["pattern"]
)


@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=10**19 - 1), st.text(max_size=70)),
        max_size=12,
        unique_by=lambda t: t[0],
    )
)
def test_suggested_aliases_always_validate(items: list[tuple[int, str]]) -> None:
    """Whatever the names, every alias matches the schema's alias pattern, and none repeats."""
    definitions = [Definition(str(i), name, brand=i % 3) for i, name in items]
    aliases = suggest_aliases(definitions)
    assert sorted(aliases) == sorted(str(i) for i, _ in items)
    assert len(set(aliases.values())) == len(aliases)
    for alias in aliases.values():
        assert _ALIAS.fullmatch(alias), alias


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
        "subscribers: {}\n"
        f"  # a@example.com: {NOTHING_TO_MANAGE}\n"
        f"  # b@example.com: {NOTHING_TO_MANAGE}\n"
    )
    assert yaml.safe_load(text) == {"version": 1, "business_unit": 0, "subscribers": {}}
    assert (stats.subscribers, stats.nothing) == (2, 2)


def _unset_first() -> LiveState:
    a = PairKey(0, "a@example.com", "11")
    b = PairKey(0, "b@example.com", "11")
    return LiveState(
        statuses={
            a: LiveStatus(a, Status.NOT_SPECIFIED),
            b: LiveStatus(b, Status.UNSUBSCRIBED),
        }
    )


def test_not_specified_is_left_out_and_its_comment_sits_inside_the_mapping() -> None:
    """By default a NOT_SPECIFIED status is not written; its subscriber becomes a comment
    under 'subscribers:', even when it comes first."""
    text, stats, _ = _export(_unset_first(), ["a@example.com", "b@example.com"])
    assert text == (
        "version: 1\nbusiness_unit: 0\n"
        "subscribers:\n"
        f"  # a@example.com: {ONLY_UNSET}\n"
        "  b@example.com:\n    news: unsubscribed\n"
    )
    assert (stats.unset, stats.nothing, stats.statuses) == (1, 1, 1)


def test_include_unset_writes_not_specified() -> None:
    """include_unset=True writes not_specified lines as before."""
    text, stats, _ = _export(_unset_first(), ["a@example.com"], include_unset=True)
    assert text.endswith("subscribers:\n  a@example.com:\n    news: not_specified\n")
    assert stats.unset == 0


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


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Trail News", "Trail News"),
        ('Say "hi" # now: ok', 'Say "hi" # now: ok'),
        ("Über uns", "Über uns"),
        ('a\nb # c "q"', '"a\\nb # c \\"q\\""'),
        ("tab\there", '"tab\\there"'),
        ("bell\x07", '"bell\\u0007"'),
        ("nel\x85ls\u2028ps\u2029", '"nel\\x85ls\\u2028ps\\u2029"'),
        ("zero\u200bwidth", '"zero\\u200bwidth"'),
        ("lone\ud800", '"lone\\ud800"'),
    ],
)
def test_one_line_quotes_only_what_would_break_a_line(text: str, shown: str) -> None:
    """Printable text is shown as it is; anything else quoted with every break escaped."""
    assert one_line(text) == shown


@given(st.text(max_size=40))
def test_one_line_is_always_one_comment(text: str) -> None:
    """Whatever the text, a comment made with one_line is one line YAML reads as a comment."""
    comment = f"# {one_line(text)}\nkey: 1\n"
    assert comment.count("\n") == 2
    assert yaml.safe_load(comment) == {"key": 1}


@pytest.mark.parametrize(
    "text", ["tab\there", "nel\x85x", "ls\u2028x", "zero\u200bwidth", "del\x7f", "\U0001f600 ok"]
)
def test_yaml_scalar_escapes_what_is_not_printable(text: str) -> None:
    """A quoted scalar is one printable line and reads back as the same text."""
    scalar = yaml_scalar(text)
    assert scalar.isprintable()
    assert yaml.safe_load(f"key: {scalar}\n") == {"key": text}


def test_header_lines_stay_comments() -> None:
    """A header line with a line break in it is still one comment line."""
    text, _, _ = _export(LiveState(), ["a@example.com"], header=["name: a\nb: 1"])
    assert text.splitlines()[0] == '# "name: a\\nb: 1"'
    assert yaml.safe_load(text) == {"version": 1, "business_unit": 0, "subscribers": {}}


class _FailingClient:
    """Reads the first chunk, then fails as the client does on a partial read."""

    def __init__(self) -> None:
        self.calls = 0

    async def read(self, subscribers: dict[int, list[str]]) -> LiveState:
        self.calls += 1
        if self.calls == 1:
            return LiveState()
        raise ApiError(
            "could not read 2 of 2 subscribers; first error: boom",
            status_code=500,
            correlation_id="c-1",
            hint="no plan is made from a partial read; fix the cause and run again",
            unread=[(3, "c@example.com"), (3, "d@example.com")],
        )


def test_a_failed_read_gets_exports_own_words() -> None:
    """Export's error says how far it got and that nothing was written, not plan's hint."""
    emails = ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]
    with pytest.raises(ApiError) as caught:
        asyncio.run(
            export_subscribers(
                _FailingClient(),  # type: ignore[arg-type]
                emails,
                io.StringIO(),
                brand=3,
                aliases={},
                chunk_size=2,
            )
        )
    assert caught.value.one_line() == (
        "export of business unit 3 failed after reading 2 of 4 subscribers: could not read "
        "2 of 2 subscribers; first error: boom (nothing was written; fix the cause and run "
        "export again) [correlationId c-1]"
    )
    assert (caught.value.status_code, caught.value.unread) == (
        500,
        ((3, "c@example.com"), (3, "d@example.com")),
    )


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ["email,name,Email\n", "a@example.com,A,b@example.com\n"],
            "l.csv:1:12: the CSV header has a second 'email' column (the first is at 1:1); "
            "keep one column of addresses named 'email'",
        ),
        (
            ["name,email\n", '"Ann,a@example.com\n', "b@example.com,B\n"],
            "l.csv:2:1: this quoted cell is never closed; add the closing '\"' (a quote inside "
            'a cell is written twice: "")',
        ),
        (
            ["name,email\n", '"Ann" Doe,a@example.com\n'],
            "l.csv:2:7: unexpected 'D' after the quoted cell that opens at 2:1; put the whole "
            'cell in quotes and write a quote inside it twice: ""',
        ),
    ],
    ids=["two-email-columns", "unterminated-quote", "text-after-a-closing-quote"],
)
def test_malformed_csv_is_refused_with_its_place(lines: list[str], message: str) -> None:
    """A CSV whose structure is broken is one error at its place, with no hint to repeat."""
    with pytest.raises(UsageError) as caught:
        read_subscriber_list(lines, "l.csv")
    assert caught.value.one_line() == message


def test_quoted_multi_line_cells_are_read() -> None:
    """A quoted cell may span lines (RFC 4180); the rows after it are read as rows."""
    lines = [
        "name,email,note\r\n",
        '"Doe,\r\n',
        ' Ann",ann@example.com,"says ""hi""\r\n',
        'twice"\r\n',
        "Bob,BOB@example.com,\r\n",
    ]
    assert read_subscriber_list(lines, "l.csv") == ["ann@example.com", "bob@example.com"]


def test_an_address_in_a_later_line_of_a_record_is_placed_there() -> None:
    """A bad address on the second line of a multi-line record names that line and column."""
    with pytest.raises(UsageError) as caught:
        read_subscriber_list(["name,email\n", '"Doe,\n', 'Ann", nope\n'], "l.csv")
    assert caught.value.message == "l.csv:3:7: 'nope' is not an email address"
