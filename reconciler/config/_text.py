"""Wording helpers for findings: bounded quoting, suggestions, display paths.

Every value a message shows goes through :func:`quote` or :func:`describe`, so that no
message can print an unbounded value (an alias bomb, a 30 MB scalar).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

__all__ = [
    "describe",
    "display_path",
    "join_or",
    "quote",
    "suggest",
]

QUOTE_LIMIT = 60


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A short, single-line, quoted rendering of ``value``, truncated with an ellipsis."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict):
        return "a mapping"
    elif isinstance(value, list):
        return "a list"
    else:
        text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    if len(text) > limit + 20:  # escapes can lengthen it
        text = text[: limit - 1] + "…"
    return "'" + text.replace("'", "\\'") + "'"


def describe(value: object) -> str:
    """What kind of YAML value this is, with a bounded rendering of it."""
    if value is None:
        return "an empty value"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return f"the number {quote(value)[1:-1]}"
    if isinstance(value, str):
        return f"text {quote(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return quote(value)  # pragma: no cover - the reader only builds the kinds above


def join_or(items: Iterable[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + " or " + listed[-1]


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else an empty string."""
    if len(word) > 100:
        return ""
    return _suggest(word, tuple(sorted(c for c in choices if len(c) <= 100)))


@lru_cache(maxsize=4096)
def _suggest(word: str, options: tuple[str, ...]) -> str:
    # Another case first: SUBSCRIBED, the spelling every plan prints, is subscribed.
    same = [o for o in options if o.casefold() == word.casefold() and o != word]
    if same:
        return f" (did you mean {quote(same[0])}?)"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.75)
    return f" (did you mean {quote(close[0])}?)" if close else ""


def display_path(path: Path | str, cwd: Path | None = None) -> str:
    """A path as the user knows it: relative to the current directory when under it.

    Bytes of a name that are not UTF-8 are shown escaped (``c\\xe9.yaml``): Python keeps
    them as lone surrogates, which no terminal, plan or journal can take.
    """
    absolute = Path(os.path.abspath(path))
    base = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
    try:
        shown = absolute.relative_to(base).as_posix()
    except ValueError:
        shown = absolute.as_posix()
    if not shown.isascii():
        shown = shown.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return shown
