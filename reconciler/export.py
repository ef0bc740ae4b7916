"""Export: live statuses of a list of subscribers -> a subscriber file in the config language.

What it writes, for one brand (``business_unit``), subscribers sorted by address:

* a subscriber opted out of all email of the brand: ``unsubscribe_all: true`` and
  nothing else (their per-subscription statuses follow from the opt-out, and declaring
  one as SUBSCRIBED would only be blocked);
* anyone else: every status HubSpot lists for them (``subscribed``, ``unsubscribed``,
  ``not_specified``), under its alias; a SUBSCRIBED status in long form with HubSpot's
  legal basis and explanation when it has them, so the file validates on a portal with
  data-privacy settings on (one without is marked with a comment);
* someone HubSpot lists nothing for: a comment line, since an entry cannot be empty.

Aliases: with a project file, the project's own (statuses of subscriptions it has no
alias for are left out and counted, since the project decides what is managed);
without one, an alias made from each definition's name (``Product Updates`` ->
``product-updates``, ``Über uns`` -> ``uber-uns``; a clash gets ``-<id>``, a name with no
ASCII letters is ``subscription-<id>``), and the file's header lists the lines to paste
into ``hsprefs.yaml``. Either way ``hsprefs plan`` right after shows no changes.

Live text (definition names, legal-basis explanations) never breaks the file: values
are YAML scalars with every unprintable character escaped, and comments show such text
on one line, quoted (:func:`one_line`).

Memory: the subscriber list is read line by line and kept as one sorted list of
addresses (needed to sort and de-duplicate the output); live statuses are read and
written one chunk at a time and never held for the whole list.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from reconciler.addresses import Problem, read_addresses
from reconciler.errors import ApiError, UsageError
from reconciler.model import (
    Definition,
    LiveState,
    LiveStatus,
    Status,
    SubscriberKey,
    normalise_email,
    valid_email,
)
from reconciler.words import plural

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = [
    "LIST_HINT",
    "NOTHING_TO_MANAGE",
    "ExportStats",
    "alias_line",
    "export_subscribers",
    "one_line",
    "read_subscriber_list",
    "slug",
    "suggest_aliases",
    "yaml_scalar",
]

_ALIAS_LIMIT = 64  # the language's longest alias (schemas/project.schema.json)
_ALIAS_MAX = 48  # a slug's longest, so "-<id>" of a usual id fits without shortening it
NOTHING_TO_MANAGE = "HubSpot lists no status and no opt-out for this subscriber"
"""The comment written for a subscriber with nothing to export (an entry cannot be empty)."""


@dataclass(slots=True)
class ExportStats:
    """What an export wrote, for the summary the CLI prints."""

    subscribers: int = 0
    with_statuses: int = 0
    opted_out: int = 0
    nothing: int = 0
    statuses: int = 0
    no_legal_basis: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # subscription id -> statuses


# -- the subscriber list -------------------------------------------------------------------

LIST_HINT = "give one email address per line, or a CSV file with an 'email' column"


def read_subscriber_list(lines: Iterable[str], name: str) -> list[str]:
    """Read a subscriber list: one email per line, or CSV with an ``email`` column.

    The format is :mod:`reconciler.addresses`' (the one group rosters have): CSV per RFC
    4180 when the first record names an ``email`` column, else one address per line;
    blank lines and lines starting with ``#`` are skipped. ``lines`` keep their line ends
    (iterate a file opened with ``newline=""``). Addresses are normalised (trimmed,
    lower-cased), de-duplicated and returned sorted. Every problem is found before
    anything is read from HubSpot; the error names ``file:line:column`` of the first and
    counts the rest. A list without any address is an error too: exporting nobody would
    only overwrite a file with an empty one.
    """
    found: set[str] = set()
    problems: list[Problem] = []
    for item in read_addresses(lines):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        email = normalise_email(item.text)
        if valid_email(email):
            found.add(email)
        else:
            message = f"{_short(item.text)} is not an email address"
            problems.append(Problem(item.line, item.column, message))
    if problems:
        first = problems[0]
        more = len(problems) - 1
        suffix = f" (and {more} more bad {'line' if more == 1 else 'lines'})"
        raise UsageError(
            f"{name}:{first.line}:{first.column}: {first.message}" + (suffix if more else ""),
            hint=None if first.fatal else LIST_HINT,
        )
    if not found:
        raise UsageError(
            f"{name}:1:1: the subscriber list has no email address, so there is nothing to export",
            hint=f"{LIST_HINT}; nothing was written",
        )
    return sorted(found)


def _short(value: str) -> str:
    text = value if len(value) <= 60 else value[:59] + "…"
    return repr(text)


# -- aliases ------------------------------------------------------------------------------

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


# -- YAML ---------------------------------------------------------------------------------

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


# -- the export ---------------------------------------------------------------------------


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def export_subscribers(
    client: HubSpotClient,
    emails: Sequence[str],
    out: TextIO,
    *,
    brand: int,
    aliases: Mapping[str, str],
    header: Sequence[str] = (),
    chunk_size: int = 800,
) -> ExportStats:
    """Read ``emails`` (sorted, unique) chunk by chunk and write the subscriber file to ``out``.

    ``aliases`` maps subscription id -> alias for ``brand``; statuses of other ids are
    left out and counted. ``header`` lines are written as comments first. Each chunk is
    one :meth:`HubSpotClient.read` (⌈chunk / batch⌉ status reads and as many wide reads),
    so the calls are the minimal count of design §5 when ``chunk_size`` is a multiple of
    the batch size.
    """
    stats = ExportStats()
    for line in header:
        # one_line: a header line built from live text (a definition name) stays a comment.
        out.write(f"# {one_line(line)}".rstrip() + "\n")
    out.write(f"version: 1\nbusiness_unit: {brand}\n")
    opened = False
    done = 0
    for chunk in _chunks(emails, max(1, chunk_size)):
        try:
            live = await client.read({brand: list(chunk)})
        except ApiError as exc:
            raise _read_failed(exc, brand, done, len(emails)) from None
        done += len(chunk)
        by_email = _statuses_by_email(live, brand)
        for email in chunk:
            opted_out = live.opted_out(SubscriberKey(brand, email))
            lines = _entry(email, opted_out, by_email.get(email, ()), aliases, stats)
            if lines and not opened:
                out.write("subscribers:\n")
                opened = True
            out.writelines(lines or [f"  # {yaml_scalar(email)}: {NOTHING_TO_MANAGE}\n"])
    if not opened:
        out.write("subscribers: {}\n")
    return stats


def _read_failed(exc: ApiError, brand: int, done: int, total: int) -> ApiError:
    """The client's read error, reworded for export (the read's own hint is about plans).

    The same class and fields (status, correlationId, the unread subscribers), so the CLI
    reports it as it reports any API error.
    """
    where = f" after reading {done} of {plural(total, 'subscriber')}" if done else ""
    failed = copy.copy(exc)
    failed.message = f"export of business unit {brand} failed{where}: {exc.message}"
    failed.args = (failed.message,)
    failed.hint = "nothing was written; fix the cause and run export again"
    return failed


def _statuses_by_email(live: LiveState, brand: int) -> dict[str, list[LiveStatus]]:
    found: dict[str, list[LiveStatus]] = {}
    for key, status in live.statuses.items():
        if key.brand == brand:
            found.setdefault(key.email, []).append(status)
    return found


def _entry(
    email: str,
    opted_out: bool,
    statuses: Sequence[LiveStatus],
    aliases: Mapping[str, str],
    stats: ExportStats,
) -> list[str]:
    stats.subscribers += 1
    head = f"  {yaml_scalar(email)}:\n"
    if opted_out:
        stats.opted_out += 1
        return [head, "    unsubscribe_all: true\n"]
    body: list[tuple[str, list[str]]] = []
    for status in statuses:
        alias = aliases.get(status.key.subscription_id)
        if alias is None:
            sub_id = status.key.subscription_id
            stats.left_out[sub_id] = stats.left_out.get(sub_id, 0) + 1
            continue
        body.append((alias, _setting(alias, status, stats)))
    if not body:
        stats.nothing += 1
        return []
    stats.with_statuses += 1
    stats.statuses += len(body)
    lines = [head]
    for _alias, setting in sorted(body):
        lines.extend(setting)
    return lines


def _setting(alias: str, status: LiveStatus, stats: ExportStats) -> list[str]:
    word = status.status.value.lower()
    key = f"    {yaml_scalar(alias)}:"
    if status.status is not Status.SUBSCRIBED:
        return [f"{key} {word}\n"]
    if not (status.legal_basis and status.legal_basis_explanation):
        stats.no_legal_basis += 1
    if not (status.legal_basis or status.legal_basis_explanation):
        return [f"{key} {word}  # no legal basis in HubSpot\n"]
    note = (
        ""
        if status.legal_basis and status.legal_basis_explanation
        else "  # incomplete legal basis"
    )
    lines = [f"{key}{note}\n", f"      status: {word}\n"]
    if status.legal_basis:
        lines.append(f"      legal_basis: {yaml_scalar(status.legal_basis)}\n")
    if status.legal_basis_explanation:
        lines.append(
            "      legal_basis_explanation: "
            f"{yaml_scalar(status.legal_basis_explanation, always_quote=True)}\n"
        )
    return lines
