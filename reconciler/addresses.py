"""Lists of email addresses: one per line, or CSV with an ``email`` column.

One reader for every list hsprefs takes from people: ``hsprefs export --subscribers``
and the group rosters of the config (``members_file``), so the same file reads the same
way in both places. It finds the addresses and where they are written; checking them
(valid, duplicate) is the caller's business.

The format is decided by the first record that is not blank and not a ``#`` comment:

* a header with an ``email`` cell (trimmed, any case) makes the file CSV, and the
  addresses are that column of every later record (other columns are ignored);
* a first record of several cells without an ``email`` one is an error;
* otherwise the file lists one address per line (a line in double quotes is unquoted).

CSV follows RFC 4180: cells are separated by commas; a cell in double quotes may hold
commas, line breaks and doubled quotes (``""``); records end with CRLF, LF or CR.
Beyond the RFC, blanks around a quoted cell are allowed, blank lines and lines starting
with ``#`` between records are skipped, a record whose cells are all blank is skipped,
and a byte-order mark at the start is ignored.

Positions are 1-based lines and columns (in characters): a cell is where it is written
(the opening quote of a quoted cell, else its first non-blank character); a problem with
a whole record names the line the record starts on, column 1. A problem with the file's
structure (two ``email`` columns, no ``email`` column, a quote never closed, text after
a closing quote) ends the reading, since nothing after it is where it seems to be; a
record without an address is reported and reading goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["Address", "BadByte", "Problem", "decode", "read_addresses"]

_SHOWN = 30  # characters of a header cell a message shows


@dataclass(frozen=True, slots=True)
class Address:
    """One address as written (trimmed, not normalised or checked), with its position."""

    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the list. ``fatal`` problems end the reading."""

    line: int
    column: int
    message: str
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class BadByte:
    """Where a list stops being UTF-8: the position of the first bad byte, and the byte."""

    line: int
    column: int
    byte: int


def decode(data: bytes) -> str | BadByte:
    """``data`` as UTF-8 text without a leading byte-order mark, or where it is not."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        # Decoded whole, so the position is in the file, not in some read buffer.
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        return BadByte(line, column, data[exc.start])


def read_addresses(lines: Iterable[str]) -> Iterator[Address | Problem]:
    """Every address of a list, and every problem, in file order (streaming).

    ``lines`` are the file's lines with or without their line ends, as iterating a file
    opened with ``newline=""`` gives them (``io.StringIO(text, newline="")`` for text).
    """
    source = _Lines(lines)
    first = source.significant()
    if first is None:
        return
    delimiter = _delimiter(first)
    header = _record(first, source, delimiter)
    if isinstance(header, Problem):
        yield header
        return
    names = [cell.text.strip().lower() for cell in header]
    emails = [cell for cell, name in zip(header, names, strict=True) if name == "email"]
    if len(emails) > 1:
        one, two = emails[0], emails[1]
        yield Problem(
            two.line,
            two.column,
            f"the CSV header has a second 'email' column (the first is at {one.line}:"
            f"{one.column}); keep one column of addresses named 'email'",
            fatal=True,
        )
        return
    if emails:
        yield from _csv(source, names.index("email"), delimiter)
        return
    if len(header) > 1:
        shown = ", ".join(_quote(cell.text) for cell in header[:5])
        address = next((c for c in header if "@" in c.text and " " not in c.text.strip()), None)
        if address is not None:
            yield Problem(
                address.line,
                address.column,
                f"the first row holds the address {_quote(address.text.strip())} and "
                f"{_DELIMITER_NAMES[delimiter]}: a CSV file needs a first row naming its "
                "columns, one of them 'email' (Email;Name); a plain list has one address "
                "per line",
                fatal=True,
            )
            return
        yield Problem(
            header[0].line,
            1,
            f"the CSV header has no 'email' column (found {shown}, separated by "
            f"{_DELIMITER_NAMES[delimiter]}); name the column of addresses 'email'",
            fatal=True,
        )
        return
    only = header[0]  # one cell: the first address (a quoted one may span lines)
    yield Address(only.text.strip(), only.line, only.column)
    while (text := source.significant()) is not None:
        yield _plain(text, source.number)


# -- reading ------------------------------------------------------------------------------


class _Lines:
    """The file's lines without their line ends, numbered from 1 as they are taken."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.number = 0

    def next(self) -> str | None:
        raw = next(self._lines, None)
        if raw is None:
            return None
        self.number += 1
        text = raw.rstrip("\r\n")
        return text.removeprefix("\ufeff") if self.number == 1 else text

    def significant(self) -> str | None:
        """The next line that is not blank and not a ``#`` comment."""
        while (text := self.next()) is not None:
            stripped = text.strip()
            if stripped and not stripped.startswith("#"):
                return text
        return None


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str  # as written inside the quotes, or raw (untrimmed) when not quoted
    line: int
    column: int


_DELIMITER_NAMES = {",": "commas (',')", ";": "semicolons (';')", "\t": "tabs"}


def _delimiter(header: str) -> str:
    """The delimiter of a CSV file, told from its header row: the one of comma, semicolon
    and tab that makes a column named ``email`` (European spreadsheets write ``;``);
    else the one the row holds most of, comma on a tie or when it holds none."""
    for candidate in (",", ";", "\t"):
        if "email" in (cell.strip().strip('"').strip().lower() for cell in header.split(candidate)):
            return candidate
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _record(text: str, source: _Lines, delimiter: str = ",") -> list[_Cell] | Problem:
    """One CSV record starting with the line ``text``; a quoted cell may take more lines."""
    line = source.number
    cells: list[_Cell] = []
    pos = 0
    while True:
        blank = pos
        while blank < len(text) and text[blank] in " \t":
            blank += 1
        if blank < len(text) and text[blank] == '"':
            opened = (line, blank + 1)
            parts: list[str] = []
            at = blank + 1
            while True:
                quote = text.find('"', at)
                if quote < 0:
                    parts.append(text[at:])
                    following = source.next()
                    if following is None:
                        return Problem(
                            *opened,
                            "this quoted cell is never closed; add the closing '\"' "
                            '(a quote inside a cell is written twice: "")',
                            fatal=True,
                        )
                    parts.append("\n")
                    text, line, at = following, source.number, 0
                elif text.startswith('"', quote + 1):
                    parts.append(text[at : quote + 1])
                    at = quote + 2
                else:
                    parts.append(text[at:quote])
                    at = quote + 1
                    break
            cells.append(_Cell("".join(parts), *opened))
            rest = at
            while rest < len(text) and text[rest] in " \t":
                rest += 1
            if rest == len(text):
                return cells
            if text[rest] != delimiter:
                return Problem(
                    line,
                    rest + 1,
                    f"unexpected {_quote(text[rest])} after the quoted cell that opens at "
                    f"{opened[0]}:{opened[1]}; put the whole cell in quotes and write a quote "
                    'inside it twice: ""',
                    fatal=True,
                )
            pos = rest + 1
        else:
            comma = text.find(delimiter, pos)
            end = len(text) if comma < 0 else comma
            cell = text[pos:end]
            lead = len(cell) - len(cell.lstrip())
            cells.append(_Cell(cell, line, pos + lead + 1))
            if comma < 0:
                return cells
            pos = comma + 1


def _csv(source: _Lines, index: int, delimiter: str = ",") -> Iterator[Address | Problem]:
    while (text := source.significant()) is not None:
        start = source.number
        if '"' not in text:
            # Most rows quote nothing: their cells are the line split at the delimiter,
            # which is what _record finds for them, without a cell object each.
            row = _unquoted(text, start, index, delimiter)
            if row is not None:
                yield row
            continue
        record = _record(text, source, delimiter)
        if isinstance(record, Problem):
            yield record
            return
        if not any(cell.text.strip() for cell in record):
            continue
        cell = record[index] if index < len(record) else None
        if cell is None or not cell.text.strip():
            yield Problem(start, 1, "this row has no email address in the 'email' column")
            continue
        yield Address(cell.text.strip(), cell.line, cell.column)


def _unquoted(text: str, line: int, index: int, delimiter: str) -> Address | Problem | None:
    """The address of a row without quotes (None for a row of blank cells)."""
    cells = text.split(delimiter)
    cell = cells[index] if index < len(cells) else ""
    address = cell.strip()
    if address:
        before = sum(map(len, cells[:index])) + index  # where the cell starts
        return Address(address, line, before + len(cell) - len(cell.lstrip()) + 1)
    if not any(c.strip() for c in cells):
        return None
    return Problem(line, 1, "this row has no email address in the 'email' column")


def _plain(text: str, line: int) -> Address:
    stripped = text.strip()
    column = len(text) - len(text.lstrip()) + 1
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        stripped = stripped[1:-1].replace('""', '"').strip()
    return Address(stripped, line, column)


def _quote(text: str) -> str:
    """A header cell for a message: bounded, one line, in single quotes."""
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 1] + "…"
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return "'" + text.replace("'", "\\'") + "'"
