"""Reading YAML safely and fast, keeping a 1-based position for every key and value.

The reader drives libyaml's event parser (PyYAML's C extension) and builds plain
``dict``/``list``/scalar values itself, in one loop with an explicit stack. That is both
what makes it fast (no node objects, no generic constructor) and what makes it safe:

* nesting deeper than :data:`MAX_DEPTH` stops the file (libyaml's own composer recurses
  in C and crashes on deep input, so it is never used);
* anchors and aliases are refused, so an alias bomb expands nothing;
* a duplicate key in one mapping is a finding, never last-wins;
* only the YAML 1.1 core tags that PyYAML's ``SafeLoader`` resolves are accepted, with
  the same implicit resolution, except that dates and date-times stay text (JSON has no
  dates; the semantic layer parses them where the language expects them);
* mapping keys are always their source text (``101:`` is the key ``"101"``).

Positions live beside the values: a :class:`YamlMap` carries ``locs[key] = (key line,
key column, value line, value column)``, a :class:`YamlList` ``locs[i] = (line,
column)``.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

import yaml
from yaml import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml import SafeLoader as _SafeLoader
from yaml._yaml import CParser

from reconciler.config._text import quote
from reconciler.errors import Finding

__all__ = [
    "MAX_DEPTH",
    "MAX_SCALAR",
    "Document",
    "YamlList",
    "YamlMap",
    "parse",
]

MAX_DEPTH: Final = 32
"""Deepest nesting accepted; the language itself needs six levels."""

_DEPTH_MESSAGE: Final = (
    f"the YAML is nested more than {MAX_DEPTH} levels deep; the config language needs far fewer"
)

MAX_SCALAR: Final = 10_000
"""Longest scalar accepted, in characters (an email is at most 254)."""

_TAG = "tag:yaml.org,2002:"
_MAP_TAGS = frozenset({None, "!", _TAG + "map"})
_SEQ_TAGS = frozenset({None, "!", _TAG + "seq"})
_BOOLS: Final = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
# The first characters for which SafeLoader has implicit resolvers; a plain scalar that
# starts with anything else is text, which is most of a config (emails, names, statuses).
_RESOLVERS: Final = {
    k: tuple(v) for k, v in _SafeLoader.yaml_implicit_resolvers.items() if k is not None
}
_RESOLVABLE: Final = "".join(k for k in _RESOLVERS if k)
_CACHE: dict[str, Any] = {}
_CACHE_MAX = 4096
_CONSTRUCT = _SafeLoader("")
_NOKEY: Final = object()
_DROP: Final = object()  # the value of this key is dropped (duplicate or complex key)
_COMPLEX: Final = object()  # a collection is being read as a key


class YamlMap(dict[str, Any]):
    """A YAML mapping; ``locs[key]`` is ``(key line, key column, value line, value column)``."""

    __slots__ = ("locs",)
    locs: dict[str, tuple[int, int, int, int]]


class YamlList(list[Any]):
    """A YAML sequence; ``locs[i]`` is the ``(line, column)`` of item ``i``."""

    __slots__ = ("locs",)
    locs: list[tuple[int, int]]


@dataclass(slots=True)
class Document:
    """One parsed file: its root value (None when empty or unreadable) and its findings."""

    file: str
    root: Any = None
    findings: list[Finding] = field(default_factory=list)
    broken: bool = False  # true when parsing stopped early: the root is unusable

    def error(self, line: int, column: int, message: str, code: str) -> None:
        self.findings.append(Finding(self.file, line, column, message, code=code))


class _Stop(Exception):
    """Parsing of this file stops here: hostile or unsupported input was found."""


class _Refused(ValueError):
    """A YAML tag outside the language (``!!python/object``, ``!!set``, custom tags)."""

    def __init__(self, tag: str) -> None:
        short = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
        super().__init__(f"the YAML tag {quote(short, 40)} is not supported; remove it")


def _number(tag: str, text: str) -> Any:
    node = yaml.ScalarNode(tag, text)
    if tag.endswith(":int"):
        digits = text.replace("_", "").lstrip("+-")
        if len(digits) > 30:
            raise ValueError("too many digits")
        return _CONSTRUCT.construct_yaml_int(node)
    if len(text) > 100:
        raise ValueError("too many digits")
    return _CONSTRUCT.construct_yaml_float(node)


def _resolve_plain(text: str) -> Any:
    """Implicit resolution of a plain scalar, as SafeLoader does it (dates stay text)."""
    hit = _CACHE.get(text, _NOKEY)
    if hit is not _NOKEY:
        return hit
    value: Any = text
    for tag, regexp in _RESOLVERS.get(text[0], ()):
        if regexp.match(text):
            kind = tag[len(_TAG) :]
            if kind == "bool":
                value = _BOOLS[text.lower()]
            elif kind == "null":
                value = None
            elif kind in ("int", "float"):
                try:
                    value = _number(tag, text)
                except (ValueError, OverflowError):
                    return _BadNumber(text)  # the caller reports it
                if kind == "int" and _SURPRISING_INT.match(text):
                    value = _Misread(value)  # the caller reports it
            break
    if len(text) <= 40 and len(_CACHE) < _CACHE_MAX:
        _CACHE[text] = value
    return value


class _BadNumber(str):
    """A scalar that looks like a number but cannot be one (too many digits)."""

    __slots__ = ()


# YAML 1.1 reads `010` as octal 8 and `1:30` as base 60 (90): an id or a business unit
# written that way would silently become another number, so both are findings.
_SURPRISING_INT: Final = re.compile(r"[-+]?(?:0[0-7_]+$|[0-9][0-9_]*:)")


class _Misread(int):
    """A whole number YAML reads differently from how it looks (octal, base 60)."""

    __slots__ = ()


def _misread_message(text: str, value: int) -> str:
    if ":" in text:
        return (
            f"YAML reads {quote(text, 40)} as the number {value} (numbers with ':' are base "
            f"60); write {value}, or quote it if it is text"
        )
    return (
        f"YAML reads {quote(text, 40)} as the number {value} (a leading 0 means octal); "
        "write the number without the leading 0"
    )


def _tagged(tag: str, text: str) -> Any:
    """An explicitly tagged scalar; raises ValueError for tags the language refuses."""
    kind = tag[len(_TAG) :] if tag.startswith(_TAG) else None
    if kind in ("str", "timestamp") or tag == "!":
        return text
    if kind == "null":
        return None
    if kind == "bool":
        if text.lower() not in _BOOLS:
            raise ValueError(f"{quote(text)} is not a boolean")
        return _BOOLS[text.lower()]
    if kind in ("int", "float"):
        try:
            return _number(tag, text)
        except (ValueError, OverflowError, IndexError):
            raise ValueError(f"{quote(text)} is not a valid {kind}") from None
    raise _Refused(tag)


def _position(data: bytes, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(data)))
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return line, column


_TAB_RE = re.compile(r"cannot start any token")


def _syntax_finding(doc: Document, data: bytes, exc: yaml.YAMLError) -> None:
    if isinstance(exc, yaml.reader.ReaderError):
        line, column = _position(data, exc.position)
        if "control" in str(exc.reason):
            doc.error(
                line,
                column,
                f"control character U+{int(exc.character):04X} is not allowed in YAML; remove it",
                "yaml-encoding",
            )
        else:
            byte = ""
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as bad:
                # libyaml points after the broken sequence; Python at its first byte.
                line, column = _position(data, bad.start)
                byte = f" (byte 0x{data[bad.start]:02X})"
            doc.error(
                line,
                column,
                f"the file is not valid UTF-8 text{byte}; save it as UTF-8",
                "yaml-encoding",
            )
        return
    mark = getattr(exc, "problem_mark", None)
    problem = str(getattr(exc, "problem", None) or "invalid YAML")
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if _TAB_RE.search(problem) and mark is not None:
        index = getattr(mark, "index", None)
        char = _char_at(data, line, column) if index is not None else ""
        if char == "\t":
            doc.error(
                line,
                column,
                "a tab character cannot indent YAML; indent with spaces",
                "yaml-tab",
            )
            return
    context = getattr(exc, "context", None)
    cmark = getattr(exc, "context_mark", None)
    detail = problem
    if context and cmark is not None:
        detail = f"{problem} ({context} at line {cmark.line + 1}, column {cmark.column + 1})"
    doc.error(line, column, f"YAML syntax error: {detail}", "yaml-syntax")


def _char_at(data: bytes, line: int, column: int) -> str:
    start = 0
    for _ in range(line - 1):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return ""
    text = data[start : start + 4 * column + 4].decode("utf-8", "replace")
    return text[column - 1] if len(text) >= column else ""


def parse(data: bytes, file: str) -> Document:
    """Parse one YAML file; every problem becomes a finding of the returned document."""
    doc = Document(file)
    try:
        _compose(CParser(data), doc)
    except yaml.YAMLError as exc:
        if _is_depth_refusal(exc):
            doc.findings = _depth_findings(data, file, exc)
        else:
            _syntax_finding(doc, data, exc)
        doc.root = None
        doc.broken = True
    except _Stop:
        doc.root = None
        doc.broken = True
    return doc


def _is_depth_refusal(exc: yaml.YAMLError) -> bool:
    """libyaml 0.2.6+ (PyYAML 6.0.4's wheels) refuses deep nesting in its scanner."""
    return "nesting depth" in str(getattr(exc, "problem", None) or "")


def _depth_findings(data: bytes, file: str, exc: yaml.YAMLError) -> list[Finding]:
    """The findings hsprefs' own depth check gives, whatever libyaml's version.

    libyaml's scanner reads ahead of its parser (up to 1,024 characters inside a flow
    collection, to decide simple keys), so its refusal can come before this reader has
    seen the 33rd level. Reading the text up to libyaml's refusal again reaches that
    level without the refusal, and so ends in the same finding at the same place as an
    older libyaml gives. Should it not (a libyaml that refused fewer levels than
    :data:`MAX_DEPTH`), the finding is placed where libyaml stopped.
    """
    mark = getattr(exc, "problem_mark", None)
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    prefix = Document(file)
    with contextlib.suppress(yaml.YAMLError, _Stop):
        _compose(CParser(data[: _offset(data, line, column)]), prefix)
    if prefix.findings and prefix.findings[-1].code == "yaml-depth":
        return prefix.findings
    prefix.findings.append(Finding(file, line, column, _DEPTH_MESSAGE, code="yaml-depth"))
    return prefix.findings


def _offset(data: bytes, line: int, column: int) -> int:
    """The byte offset of a 1-based (line, column in characters) position."""
    start = 0
    for _ in range(line - 1):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return len(data)
    end = data.find(b"\n", start)
    text = data[start : len(data) if end < 0 else end].decode("utf-8", "replace")
    return start + len(text[: column - 1].encode("utf-8"))


def _compose(parser: CParser, doc: Document) -> None:
    """The hot loop: events to values with positions, in one pass and without recursion.

    What is common stays inline (a key, a plain text value, a mapping or list opening
    and closing); every refusal and every value that needs resolving is a helper call.
    """
    get_event = parser.get_event
    stack: list[tuple[Any, Any, bool, Any, int, int, int, int]] = []
    cur: Any = None
    locs: Any = None
    is_map = False
    key: Any = _NOKEY
    kline = kcol = 0
    documents = 0
    resolvable = _RESOLVABLE
    scalar_max = MAX_SCALAR
    while True:
        event: Any = get_event()
        kind = type(event)
        if kind is ScalarEvent:
            mark = event.start_mark
            text = event.value
            if event.anchor is not None or len(text) > scalar_max:
                _refuse_scalar(doc, event)
            if is_map and key is _NOKEY:
                # A key: always its source text, whatever it would resolve to.
                if text in cur:
                    _duplicate_key(doc, mark, text, cur.locs[text])
                    key = _DROP
                else:
                    key = text
                    kline = mark.line + 1
                    kcol = mark.column + 1
                continue
            if event.tag is None and not (
                event.implicit[0] and (not text or text[0] in resolvable)
            ):
                value: Any = text
            else:
                value = _scalar_value(doc, event)
            if is_map:
                if key is not _DROP:
                    cur[key] = value
                    locs[key] = (kline, kcol, mark.line + 1, mark.column + 1)
                key = _NOKEY
            elif cur is not None:
                cur.append(value)
                locs.append((mark.line + 1, mark.column + 1))
            else:
                doc.root = value
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            mark = event.start_mark
            is_mapping = kind is MappingStartEvent
            if (
                len(stack) >= MAX_DEPTH
                or event.anchor is not None
                or event.tag not in (_MAP_TAGS if is_mapping else _SEQ_TAGS)
            ):
                _refuse_open(doc, event, len(stack))
            if is_map and key is _NOKEY:
                _complex_key(doc, mark)
                key = _COMPLEX
                kline = kcol = 0
            stack.append((cur, locs, is_map, key, kline, kcol, mark.line + 1, mark.column + 1))
            if is_mapping:
                cur = YamlMap()
                locs = cur.locs = {}
                is_map = True
                key = _NOKEY
            else:
                cur = YamlList()
                locs = cur.locs = []
                is_map = False
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = cur
            cur, locs, is_map, key, kline, kcol, vline, vcol = stack.pop()
            if is_map:
                if key is _COMPLEX:
                    key = _DROP
                    continue
                if key is not _DROP:
                    cur[key] = value
                    locs[key] = (kline, kcol, vline, vcol)
                key = _NOKEY
            elif cur is not None:
                cur.append(value)
                locs.append((vline, vcol))
            else:
                doc.root = value
        elif kind is AliasEvent:
            _anchor_finding(doc, event.start_mark, event.anchor, "*")
        elif kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                _second_document(doc, event.start_mark)
        elif kind is StreamEndEvent:
            return


def _scalar_value(doc: Document, event: Any) -> Any:
    """The value of a scalar that is not plain text: empty, a number, a boolean, a date,
    or explicitly tagged; a number YAML would misread is a finding."""
    mark = event.start_mark
    text = event.value
    tag = event.tag
    if tag is None:
        if not event.implicit[0]:
            return text
        if not text:
            return None
        value = _resolve_plain(text)
        odd = type(value)
        if odd is _BadNumber:
            doc.error(
                mark.line + 1,
                mark.column + 1,
                f"the number {quote(text)} is too long",
                "yaml-number",
            )
            return str(value)
        if odd is _Misread:
            value = int(value)
            doc.error(mark.line + 1, mark.column + 1, _misread_message(text, value), "yaml-number")
        return value
    try:
        return _tagged(tag, text)
    except _Refused as exc:
        doc.error(mark.line + 1, mark.column + 1, str(exc), "yaml-tag")
        raise _Stop from None
    except ValueError as exc:
        doc.error(mark.line + 1, mark.column + 1, str(exc), "yaml-tag")
        return text


def _refuse_scalar(doc: Document, event: Any) -> NoReturn:
    """A scalar with an anchor, or longer than :data:`MAX_SCALAR`: the file stops."""
    mark = event.start_mark
    if event.anchor is not None:
        _anchor_finding(doc, mark, event.anchor, "&")
    doc.error(
        mark.line + 1,
        mark.column + 1,
        f"this value is {len(event.value):,} characters long; at most {MAX_SCALAR:,} are allowed",
        "yaml-too-large",
    )
    raise _Stop


def _refuse_open(doc: Document, event: Any, depth: int) -> NoReturn:
    """A mapping or list too deep, with an anchor or with a tag: the file stops."""
    mark = event.start_mark
    if depth >= MAX_DEPTH:
        doc.error(
            mark.line + 1,
            mark.column + 1,
            _DEPTH_MESSAGE,
            "yaml-depth",
        )
        raise _Stop
    if event.anchor is not None:
        _anchor_finding(doc, mark, event.anchor, "&")
    doc.error(mark.line + 1, mark.column + 1, str(_Refused(event.tag)), "yaml-tag")
    raise _Stop


def _duplicate_key(doc: Document, mark: Any, text: str, first: tuple[int, ...]) -> None:
    doc.error(
        mark.line + 1,
        mark.column + 1,
        f"duplicate key {quote(text)} (first at line {first[0]}, "
        f"column {first[1]}); a key may appear only once in a mapping",
        "yaml-duplicate-key",
    )


def _complex_key(doc: Document, mark: Any) -> None:
    doc.error(
        mark.line + 1,
        mark.column + 1,
        "a mapping key must be plain text, not a mapping or a list",
        "yaml-complex-key",
    )


def _second_document(doc: Document, mark: Any) -> NoReturn:
    doc.error(
        mark.line + 1,
        mark.column + 1,
        "a second YAML document ('---') is not allowed; one document per file",
        "yaml-syntax",
    )
    raise _Stop


def _anchor_finding(doc: Document, mark: Any, name: str, sigil: str) -> NoReturn:
    """Anchors stop the file: nothing after them is expanded, so a bomb cannot go off."""
    doc.error(
        mark.line + 1,
        mark.column + 1,
        f"YAML anchors and aliases ({sigil}{quote(name, 30)[1:-1]}) are not supported; "
        "write the value out, or share settings with defaults and groups",
        "yaml-alias",
    )
    raise _Stop
