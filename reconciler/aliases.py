"""Aliases made from definition names, and the YAML text they are written in.

``hsprefs export`` (without a project) and ``hsprefs definitions`` suggest an alias for
every subscription type: ``Product Updates`` -> ``product-updates``, ``Über uns`` ->
``uber-uns``; a clash gets ``-<id>``, a name with no ASCII letters is
``subscription-<id>`` (:func:`suggest_aliases`). Live text (definition names,
legal-basis explanations) never breaks a file: :func:`yaml_scalar` escapes every
unprintable character of a value, and :func:`one_line` keeps such text on one line of a
comment or a table.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Iterator, Sequence

from reconciler.model import Definition

__all__ = ["alias_line", "one_line", "slug", "suggest_aliases", "yaml_scalar"]

_ALIAS_LIMIT = 64  # the language's longest alias (schemas/project.schema.json)
_ALIAS_MAX = 48  # a slug's longest, so "-<id>" of a usual id fits without shortening it


# Latin letters that Unicode does not decompose into an ASCII letter and a mark.
_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ł": "l",
     "ı": "i", "ħ": "h", "ŧ": "t", "ŋ": "ng", "ĳ": "ij"}
)  # fmt: skip


def slug(name: str) -> str:
    """An alias made from a definition name: ``Product Updates`` -> ``product-updates``.

    Letters are taken to ASCII the usual way (Unicode NFKD, combining marks dropped:
    ``Über uns`` -> ``uber-uns``, plus ``ß`` -> ``ss`` and the like); what has no ASCII
    form is dropped, so a name in a script without one gives an empty slug.
    """
    decomposed = unicodedata.normalize("NFKD", name).lower()
    text = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:_ALIAS_MAX].rstrip("-")


def suggest_aliases(definitions: Sequence[Definition]) -> dict[str, str]:
    """An alias for every definition id, unique among them and valid in the language.

    The name's slug when it has a letter; on a clash, the slug with ``-<id>`` added; for
    a name with no letter in ASCII (``ニュースレター``, ``2026``, ``!!!``),
    ``subscription-<id>``. Deterministic: definitions are taken in order of brand and
    numeric id, the first keeps the plain slug.
    """
    ordered = sorted(definitions, key=lambda d: (d.brand, _id_order(d.id), d.id))
    taken: set[str] = set()
    out: dict[str, str] = {}
    for definition in ordered:
        if definition.id in out:
            continue
        alias = next(a for a in _candidates(definition) if a not in taken)
        taken.add(alias)
        out[definition.id] = alias
    return out


def _candidates(definition: Definition) -> Iterator[str]:
    base = slug(definition.name)
    tag = slug(definition.id)  # HubSpot's ids are digits; anything else made alias-safe
    if re.search("[a-z]", base):
        yield base
        if tag:
            yield _suffixed(base, tag)
    fallback = _suffixed("subscription", tag) if tag else "subscription"
    yield fallback
    for number in itertools.count(2):
        yield _suffixed(fallback, str(number))


def _suffixed(base: str, suffix: str) -> str:
    """``base-suffix`` within the language's 64 characters (``base`` shortened if needed)."""
    room = _ALIAS_LIMIT - len(suffix) - 1
    return f"{base[:room].rstrip('-')}-{suffix}"


def _id_order(sub_id: str) -> int:
    return int(sub_id) if sub_id.isdigit() else 1 << 62


def alias_line(alias: str, definition: Definition) -> str:
    """The ``hsprefs.yaml`` line for an alias, e.g. ``newsletter: {id: "101"}``."""
    brand = f", business_unit: {definition.brand}" if definition.brand else ""
    return f"{alias}: {{id: {yaml_scalar(definition.id, always_quote=True)}{brand}}}"


_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+@%/-]*$")
_RESERVED = re.compile(
    r"^(?:y|n|yes|no|on|off|true|false|null|~|[-+]?[0-9][0-9_:.eE+-]*|\.inf|\.nan)$",
    re.IGNORECASE,
)


def yaml_scalar(text: str, *, always_quote: bool = False) -> str:
    """``text`` as a YAML scalar: plain when that is unambiguous, else double-quoted.

    Quoted, every character that is not printable (line breaks of any kind, tabs,
    control and format characters, lone surrogates) is written as an escape, so the
    scalar is one line and reads back as ``text``.
    """
    if not always_quote and _PLAIN.fullmatch(text) and not _RESERVED.fullmatch(text):
        return text
    return _quoted(text)


def one_line(text: str) -> str:
    """``text`` fit for one line of a comment or a table: as it is when every character
    is printable, else double-quoted with escapes (``"a\\nb"``)."""
    return text if text.isprintable() else _quoted(text)


def _quoted(text: str) -> str:
    # JSON escapes the quote, the backslash and C0 controls; the rest of what is not
    # printable (DEL, C1 with NEL, LS, PS, format characters, surrogates) gets a YAML
    # escape, which is also what keeps a comment from being broken by a line break.
    quoted = json.dumps(text, ensure_ascii=False)
    if quoted.isprintable():
        return quoted
    return "".join(c if c.isprintable() else _escape(c) for c in quoted)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
