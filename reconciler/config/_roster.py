"""Group rosters (``members_file``): CSV with an ``email`` column, or one email per line.

The format is decided by the first line that is not blank and not a ``#`` comment: when
one of its comma-separated cells is ``email`` (any case), the file is CSV with that
header; when it has several cells but none is ``email``, the file is malformed; else the
file lists one address per line. Every member keeps its own line and column in the
roster, so findings point into the roster itself. Imports: stdlib, :mod:`reconciler.errors`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from reconciler.config._text import quote
from reconciler.errors import Finding

__all__ = ["Member", "read_roster"]


@dataclass(frozen=True, slots=True)
class Member:
    """One address of a roster as written, with its 1-based position."""

    email: str
    line: int
    column: int


def read_roster(data: bytes, file: str) -> tuple[list[Member], list[Finding]]:
    """Every member of a roster, and a finding for every malformed line."""
    findings: list[Finding] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = "the roster is not valid UTF-8 text; save it as UTF-8"
        return [], [Finding(file, line, column, message, code="roster")]
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        message = "the roster contains a NUL character; it must be plain text"
        return [], [Finding(file, line, column, message, code="roster")]
    lines = text.splitlines()
    first = next(
        (i for i, raw in enumerate(lines) if raw.strip() and not raw.lstrip().startswith("#")),
        None,
    )
    if first is None:
        return [], findings
    try:
        header = next(csv.reader([lines[first]]))
    except csv.Error as exc:
        return [], [Finding(file, first + 1, 1, f"malformed CSV header: {exc}", code="roster")]
    cells = [c.strip().lower() for c in header]
    if "email" in cells:
        return _csv(lines, first, cells.index("email"), file)
    if len(cells) > 1:
        shown = ", ".join(quote(c, 30) for c in header[:5])
        message = (
            f"the CSV header has no 'email' column (found {shown}); "
            "name the column of addresses 'email'"
        )
        return [], [Finding(file, first + 1, 1, message, code="roster")]
    members = []
    for number, raw in enumerate(lines[first:], start=first + 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        column = len(raw) - len(raw.lstrip()) + 1
        members.append(Member(stripped, number, column))
    return members, findings


def _csv(lines: list[str], first: int, index: int, file: str) -> tuple[list[Member], list[Finding]]:
    members: list[Member] = []
    findings: list[Finding] = []
    body = lines[first + 1 :]
    reader = csv.reader(body)
    consumed = 0
    while True:
        start = first + 2 + consumed  # 1-based line of the row about to be read
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            findings.append(Finding(file, start, 1, f"malformed CSV row: {exc}", code="roster"))
            break
        consumed = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= index or not row[index].strip():
            message = "this row has no email address in the 'email' column"
            findings.append(Finding(file, start, 1, message, code="roster"))
            continue
        cell = row[index]
        raw = lines[start - 1] if start - 1 < len(lines) else ""
        column = 1
        if '"' not in raw:
            column = sum(len(c) + 1 for c in raw.split(",")[:index]) + 1
            column += len(cell) - len(cell.lstrip())
        members.append(Member(cell.strip(), start, column))
    return members, findings
