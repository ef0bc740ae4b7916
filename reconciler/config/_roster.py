"""Group rosters (``members_file``): CSV with an ``email`` column, or one email per line.

The list is read by :mod:`reconciler.addresses`, the reader ``hsprefs export
--subscribers`` uses too, so a roster and a subscriber list are the same file format
(CSV per RFC 4180, or one address per line; see that module for how the format is
decided). This module turns its addresses and problems into members and findings:
every member keeps its own line and column in the roster, so findings point into the
roster itself.
"""

from __future__ import annotations

import io

from reconciler.addresses import Address, BadByte, decode, read_addresses
from reconciler.errors import Finding

__all__ = ["Member", "read_roster"]


Member = Address
"""One address of a roster as written (``text``), with its 1-based position: the
reader's own :class:`~reconciler.addresses.Address`, kept as it is read."""


def read_roster(data: bytes, file: str) -> tuple[list[Member], list[Finding]]:
    """Every member of a roster, and a finding for every malformed line."""
    text = decode(data)
    if isinstance(text, BadByte):
        message = "the roster is not valid UTF-8 text; save it as UTF-8"
        return [], [Finding(file, text.line, text.column, message, code="roster")]
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        message = "the roster contains a NUL character; it must be plain text"
        return [], [Finding(file, line, column, message, code="roster")]
    members: list[Member] = []
    findings: list[Finding] = []
    for item in read_addresses(io.StringIO(text, newline="")):
        if isinstance(item, Address):
            members.append(item)
        else:
            findings.append(Finding(file, item.line, item.column, item.message, code="roster"))
    return members, findings
