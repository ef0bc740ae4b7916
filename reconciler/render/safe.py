"""Making text from outside safe to print on a terminal.

Strings that hsprefs did not write itself (HubSpot's ``source`` of a status, definition
names, HubSpot's error messages, email addresses and aliases read from files) can hold
control characters. Printed raw, ``ESC ] 0 ; ... BEL`` retitles the terminal, other
escape sequences move the cursor or recolour the screen, and a line break forges an
output line that hsprefs never wrote. :func:`terminal_safe` shows every such character
as a visible escape instead, so what is printed is exactly one line of plain text.

Escaped: C0 controls (U+0000–U+001F, tab and line breaks included), DEL (U+007F), C1
controls (U+0080–U+009F), the Unicode line and paragraph separators (U+2028, U+2029)
and the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which
reorder what a reader sees. Everything else, other scripts and emoji included, is kept.
A backslash is kept as it is, so Windows paths read normally.

Used by every text renderer (plan, audit, apply report) and by the CLI's error line.
"""

from __future__ import annotations

import re

__all__ = ["terminal_safe"]

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` with every control, line-break and bidi-override character escaped.

    ``"a\\x1b]0;pwned\\x07\\nB"`` becomes the literal ``a\\x1b]0;pwned\\x07\\nB``: one
    line, nothing a terminal acts on. Text without such characters is returned as is.
    """
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)
