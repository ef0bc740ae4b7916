"""What ``hsprefs definitions`` prints: the portal's subscription types.

Text: a table (id, name, business unit, active, purpose) and the alias lines to paste
into ``hsprefs.yaml``. JSON: a versioned document with the same data and the suggested
alias of each definition.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from reconciler.aliases import alias_line, one_line, suggest_aliases
from reconciler.model import Definition

__all__ = ["DEFINITIONS_FORMAT_VERSION", "render_definitions_json", "render_definitions_text"]

DEFINITIONS_FORMAT_VERSION = 1


def _ordered(definitions: Sequence[Definition]) -> list[Definition]:
    return sorted(
        definitions, key=lambda d: (d.brand, int(d.id) if d.id.isdigit() else 1 << 62, d.id)
    )


def _width(text: str) -> int:
    """Terminal columns of ``text``: wide East Asian characters take two, marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def render_definitions_text(definitions: Sequence[Definition]) -> str:
    """A table of the definitions, then the alias lines for ``hsprefs.yaml``.

    HubSpot's text (names, purposes) is shown with :func:`~reconciler.export.one_line`,
    so a name with a line break stays one row and one comment.
    """
    if not definitions:
        return "No subscription types found.\n"
    ordered = _ordered(definitions)
    aliases = suggest_aliases(ordered)
    rows = [("ID", "NAME", "BRAND", "ACTIVE", "PURPOSE")] + [
        (
            one_line(d.id),
            one_line(d.name),
            str(d.brand),
            "yes" if d.is_active else "no",
            one_line(d.purpose or "-"),
        )
        for d in ordered
    ]
    widths = [max(_width(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
        for row in rows
    ]
    pasted = [alias_line(aliases[d.id], d) for d in ordered]
    width = max(len(text) for text in pasted)
    lines += ["", "Aliases for hsprefs.yaml (under subscriptions:):"]
    for d, text in zip(ordered, pasted, strict=True):
        note = one_line(d.name) + ("" if d.is_active else " (inactive)")
        lines.append(f"  {text.ljust(width)}  # {note}")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render_definitions_json(definitions: Sequence[Definition]) -> str:
    """The definitions as a versioned JSON document, each with its suggested alias."""
    ordered = _ordered(definitions)
    aliases = suggest_aliases(ordered)
    items: list[dict[str, Any]] = [
        {
            "id": d.id,
            "name": d.name,
            "brand": d.brand,
            "active": d.is_active,
            "purpose": d.purpose,
            "description": d.description,
            "communication_method": d.communication_method,
            "default": d.is_default,
            "internal": d.is_internal,
            "alias": aliases[d.id],
        }
        for d in ordered
    ]
    document: dict[str, Any] = {
        "format": "hsprefs-definitions",
        "version": DEFINITIONS_FORMAT_VERSION,
        "definitions": items,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
