"""Wording shared by every message and renderer: counts with the right plural."""

from __future__ import annotations

__all__ = ["plural"]


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 subscriber``, ``2 subscribers``; ``words`` for an irregular plural
    (``plural(n, "status", "statuses")``)."""
    return f"{count} {word if count == 1 else (words or word + 's')}"
