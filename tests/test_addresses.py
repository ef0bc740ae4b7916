"""The one reader of address lists, and that export and rosters read a file the same way."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import addresses
from reconciler.addresses import Address, BadByte, Problem, decode, read_addresses
from reconciler.config._roster import Member, read_roster
from reconciler.errors import Finding, UsageError
from reconciler.export import read_subscriber_list


def read(text: str) -> list[Address | Problem]:
    return list(read_addresses(io.StringIO(text, newline="")))


def test_one_address_per_line_with_positions() -> None:
    """A plain list: each address with its line and first column; blanks and # skipped."""
    assert read("# team\n  ann@example.com \n\nbob@example.com\n") == [
        Address("ann@example.com", 2, 3),
        Address("bob@example.com", 4, 1),
    ]


def test_a_quoted_line_of_a_plain_list_is_unquoted() -> None:
    """A plain list line in double quotes is the address inside them."""
    assert read('"ann@example.com"\n "bob@example.com"\n') == [
        Address("ann@example.com", 1, 1),
        Address("bob@example.com", 2, 2),
    ]


def test_csv_cells_are_placed_where_they_are_written() -> None:
    """A CSV address is at its own column: after other cells, after quoted commas."""
    text = 'name,Email\n"Doe, Ann", ann@example.com\nBob,"bob@example.com"\n'
    assert read(text) == [Address("ann@example.com", 2, 13), Address("bob@example.com", 3, 5)]


def test_a_multi_line_record_keeps_the_lines_after_it_right() -> None:
    """A quoted cell over three lines: the next record is numbered by its real line."""
    text = 'email,note\nann@example.com,"one\ntwo\nthree"\nbob@example.com,x\n'
    assert read(text) == [Address("ann@example.com", 2, 1), Address("bob@example.com", 5, 1)]


def test_a_row_without_an_address_names_the_line_its_record_starts_on() -> None:
    """A record with an empty email cell: one problem at its first line; reading goes on."""
    text = 'note,email\n"two\nlines",\nx,bob@example.com\n'
    assert read(text) == [
        Problem(2, 1, "this row has no email address in the 'email' column"),
        Address("bob@example.com", 4, 3),
    ]


def test_a_semicolon_roster_from_european_excel() -> None:
    """Email;Name with a byte-order mark and CRLF: the delimiter is told from the header."""
    text = '\ufeffEmail;Name\r\nann@example.com;Ann\r\n"bob@example.com";"Bob; Jr"\r\n'
    assert read(text) == [Address("ann@example.com", 2, 1), Address("bob@example.com", 3, 1)]


def test_a_tab_separated_roster() -> None:
    """A tab-separated export reads the same way."""
    assert read("name\temail\nAnn\tann@example.com\n") == [Address("ann@example.com", 2, 5)]


def test_an_all_blank_record_is_a_blank_line() -> None:
    """A row of empty cells is skipped like a blank line, not reported."""
    assert read("email,name\n,\n , \nann@example.com,A\n") == [Address("ann@example.com", 4, 1)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "email,EMAIL\nann@example.com,bob@example.com\n",
            Problem(
                1,
                7,
                "the CSV header has a second 'email' column (the first is at 1:1); "
                "keep one column of addresses named 'email'",
                fatal=True,
            ),
        ),
        (
            "Mail;Name\nann@example.com;Ann\n",
            Problem(
                1,
                1,
                "the CSV header has no 'email' column (found 'Mail', 'Name', separated by "
                "semicolons (';')); name the column of addresses 'email'",
                fatal=True,
            ),
        ),
        (
            "ann@example.com;Ann\nbob@example.com;Bob\n",
            Problem(
                1,
                1,
                "the first row holds the address 'ann@example.com' and semicolons (';'): a "
                "CSV file needs a first row naming its columns, one of them 'email' "
                "(Email;Name); a plain list has one address per line",
                fatal=True,
            ),
        ),
        (
            "name,mail\nZed,zed@example.com\n",
            Problem(
                1,
                1,
                "the CSV header has no 'email' column (found 'name', 'mail', separated by "
                "commas (',')); name the column of addresses 'email'",
                fatal=True,
            ),
        ),
        (
            'email,name\nann@example.com,"Ann\nbob@example.com,Bob\n',
            Problem(
                2,
                17,
                "this quoted cell is never closed; add the closing '\"' (a quote inside a cell "
                'is written twice: "")',
                fatal=True,
            ),
        ),
        (
            'email,name\nann@example.com,"Ann"x\nbob@example.com,Bob\n',
            Problem(
                2,
                22,
                "unexpected 'x' after the quoted cell that opens at 2:17; put the whole cell "
                'in quotes and write a quote inside it twice: ""',
                fatal=True,
            ),
        ),
    ],
    ids=[
        "two-email-columns",
        "semicolon-no-email-column",
        "semicolon-no-header",
        "no-email-column",
        "unterminated-quote",
        "text-after-quote",
    ],
)
def test_broken_structure_ends_the_reading(text: str, problem: Problem) -> None:
    """Nothing after a structural problem is read: it is the only item."""
    assert read(text) == [problem]


def test_crlf_and_a_byte_order_mark() -> None:
    """A spreadsheet's CSV (BOM, CRLF) reads like any other."""
    text = decode(b"\xef\xbb\xbfEmail,Name\r\nann@example.com,Ann\r\n\r\nbob@example.com,Bob\r\n")
    assert isinstance(text, str)
    assert read(text) == [Address("ann@example.com", 2, 1), Address("bob@example.com", 4, 1)]


def test_old_mac_line_ends() -> None:
    """Records ended by a bare CR are records too."""
    assert read("email\rann@example.com\rbob@example.com\r") == [
        Address("ann@example.com", 2, 1),
        Address("bob@example.com", 3, 1),
    ]


def test_decode_drops_a_byte_order_mark() -> None:
    """Text comes back without the byte-order mark spreadsheet tools put first."""
    assert decode(b"\xef\xbb\xbfemail\n") == "email\n"


def test_decode_names_the_first_bad_byte() -> None:
    """A byte that is not UTF-8: its line, its column in characters, and the byte."""
    assert decode(b"ann@example.com\nb\xc3\xa9\xffx\n") == BadByte(2, 3, 0xFF)


# -- export and rosters read the same files the same way ------------------------------------

SAME = [
    "ann@example.com\nBob@Example.com\n",
    "\ufeffEmail,Name\r\nann@example.com,Ann\r\n\r\nbob@example.com,Bob\r\n",
    'name,email\n"Doe,\nAnn",ann@example.com\nBob,bob@example.com\n',
    'email,note\n "ann@example.com" ,"x, ""y"""\n',
]


@pytest.mark.parametrize("text", SAME, ids=["plain", "bom-crlf", "multi-line", "quoted"])
def test_export_and_rosters_find_the_same_addresses(text: str) -> None:
    """The same file gives a roster and an export list the same addresses."""
    members, findings = read_roster(text.encode("utf-8"), "r.csv")
    assert findings == []
    listed = read_subscriber_list(io.StringIO(text, newline=""), "r.csv")
    assert sorted({m.text.lower() for m in members}) == listed


BROKEN = [
    ("email,email\nann@example.com,bob@example.com\n", 1, 7),
    ('email,name\nann@example.com,"Ann\n', 2, 17),
    ("name,email\nAnn,\n", 2, 1),
]


@pytest.mark.parametrize(("text", "line", "column"), BROKEN, ids=["dup", "unterminated", "empty"])
def test_export_and_rosters_refuse_the_same_files(text: str, line: int, column: int) -> None:
    """A file a roster finding points at, export refuses at the same place."""
    _, findings = read_roster(text.encode("utf-8"), "r.csv")
    assert [(f.line, f.column) for f in findings] == [(line, column)]
    with pytest.raises(UsageError) as caught:
        read_subscriber_list(io.StringIO(text, newline=""), "r.csv")
    assert caught.value.message == f"r.csv:{line}:{column}: {findings[0].message}"


def test_roster_turns_problems_into_findings() -> None:
    """Every problem is a 'roster' finding in the roster's own file; addresses are members."""
    members, findings = read_roster(b'email\nann@example.com\n"x\n', "rosters/r.csv")
    assert members == [Member("ann@example.com", 2, 1)]
    assert findings == [
        Finding(
            "rosters/r.csv",
            3,
            1,
            "this quoted cell is never closed; add the closing '\"' (a quote inside a cell is "
            'written twice: "")',
            code="roster",
        )
    ]


_CELL = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@given(
    st.lists(st.lists(_CELL, min_size=1, max_size=4), max_size=6), st.sampled_from(["\n", "\r\n"])
)
def test_reading_never_raises(rows: list[list[str]], end: str) -> None:
    """Any text reads to addresses and problems, never an exception."""
    text = end.join(",".join(row) for row in rows)
    for item in read(text):
        assert isinstance(item, Address | Problem)


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@given(
    st.lists(
        st.tuples(st.emails(), st.text(alphabet=st.characters(codec="utf-8"), max_size=10)),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_any_quoted_csv_reads_back(rows: list[tuple[str, str]], end: str) -> None:
    """RFC 4180 quoting of any note (commas, quotes, line breaks) gives back every address."""
    text = "note,email" + end + "".join(f"{_csv_cell(n)},{_csv_cell(e)}{end}" for e, n in rows)
    assert [a.text for a in read(text) if isinstance(a, Address)] == [e for e, _ in rows]


_UNQUOTED = st.text(alphabet=st.sampled_from(["a", "@", ".", " ", "\t", "é", "#"]), max_size=6)


@given(
    st.integers(min_value=0, max_value=2),
    st.lists(st.lists(_UNQUOTED, min_size=0, max_size=4), max_size=8),
)
def test_rows_without_quotes_read_as_the_record_reader_reads_them(
    index: int, rows: list[list[str]]
) -> None:
    """The quick reading of a row that quotes nothing gives what the general one does."""
    names = ["name", "note", "other"]
    names[index] = "email"
    lines = [",".join(names), *(",".join(row) for row in rows)]
    expected: list[Address | Problem] = []
    source = addresses._Lines(lines)
    source.significant()
    while (text := source.significant()) is not None:
        record = addresses._record(text, source)
        assert isinstance(record, list)
        if not any(cell.text.strip() for cell in record):
            continue
        cell = record[index] if index < len(record) else None
        if cell is None or not cell.text.strip():
            expected.append(
                Problem(source.number, 1, "this row has no email address in the 'email' column")
            )
        else:
            expected.append(Address(cell.text.strip(), cell.line, cell.column))
    assert read("\n".join(lines)) == expected
