"""What ``hsprefs history`` prints: one person's consent history, as text, JSON or Markdown.

Each journal line is one event: when, the brand (with its name when the project gives
it) and subscription, before -> after, the legal basis and explanation sent, HubSpot's
answer and correlationId, the plan checksum and config commit, and the ``file:line``
it was read from. A ``verify`` line says what the read-back showed. A line of a kind
this version does not know is shown with its kind and fields, never dropped. With
``--live``, HubSpot's current statuses and sources follow.

Journal and HubSpot text is quoted (``one_line``) and, for terminals, made safe
(:func:`~reconciler.render.safe.terminal_safe`): an explanation cannot forge a line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler import __version__
from reconciler.aliases import one_line
from reconciler.history import Event, History
from reconciler.model import LiveStatus, PairKey, SubscriberKey
from reconciler.plan import iso, subscription_label
from reconciler.render.markdown import markdown_cell
from reconciler.render.safe import terminal_safe
from reconciler.words import plural

__all__ = [
    "HISTORY_FORMAT_VERSION",
    "history_document",
    "render_history_json",
    "render_history_markdown",
    "render_history_text",
]

HISTORY_FORMAT_VERSION = 1

# Fields every kind of line is worded from; the rest of an unknown kind's are listed.
_WORDED = frozenset({"time", "operation", "subscriber", "brand", "subscription_id", "subscription"})


def _brand(brand: int | None, names: Mapping[int, str]) -> str:
    if brand is None:
        return "brand ?"
    name = names.get(brand)
    return f"brand {brand} ({one_line(name)})" if name else f"brand {brand}"


def _subject(event: Event) -> str:
    sub_id = event.text("subscription_id")
    if event.kind == "unsubscribe-all" or (sub_id is None and event.known):
        return "all email"
    return subscription_label(event.text("subscription"), sub_id)


def _quoted(text: str | None) -> str:
    return f'"{one_line(text)}"' if text and one_line(text) == text else one_line(text or "")


def _change(event: Event) -> str:
    """What the line says happened, in one phrase."""
    f = event.fields
    if event.kind == "verify":
        observed = event.text("observed")
        seen = f", observed {one_line(observed)}" if observed else ""
        why = event.text("verification_error")
        why_text = f" ({one_line(why)})" if why else ""
        return f"read back: {f.get('verified')}{seen}{why_text}"
    if event.kind == "recover":
        observed = event.text("observed")
        seen = f", observed {one_line(observed)}" if observed else ""
        return (
            f"{f.get('before')} -> {f.get('after')}: settled by a later run, read back "
            f"{f.get('verified')}{seen}"
        )
    if event.known:
        return f"{f.get('before')} -> {f.get('after')}"
    return f"{event.kind} (a line kind this version of hsprefs does not word)"


def _answer(event: Event) -> str:
    outcome = event.text("outcome")
    if outcome is None:
        return ""
    if outcome == "sending":
        return "sent, but no answer was journalled (the run ended while the call was out)"
    detail = event.text("result") or event.text("error")
    return f"{outcome} ({one_line(detail)})" if detail else outcome


def _basis(event: Event) -> str | None:
    basis, why = event.text("legal_basis"), event.text("legal_basis_explanation")
    if not (basis or why):
        return None
    return " ".join(p for p in (basis, _quoted(why) if why else None) if p)


def _evidence(event: Event) -> str:
    parts = []
    if event.text("correlation_id"):
        parts.append(f"correlationId {event.text('correlation_id')}")
    if event.text("plan_checksum"):
        parts.append(f"plan {event.text('plan_checksum')}")
    commit = event.text("config_commit")
    parts.append(f"config commit {commit}" if commit else "no config commit")
    parts.append(f"{event.file}:{event.line}")
    return ", ".join(parts)


def _others(event: Event) -> str:
    rest = {k: v for k, v in event.fields.items() if k not in _WORDED and v is not None}
    return ", ".join(f"{k}={one_line(json.dumps(v, ensure_ascii=False))}" for k, v in rest.items())


def _live_lines(history: History, email: str) -> list[str]:
    live = history.live
    if live is None:
        return []
    lines = ["", "Now in HubSpot:"]
    for brand in history.live_brands:
        opt_out = live.opt_outs.get(SubscriberKey(brand, email))
        statuses = sorted(
            (s for k, s in live.statuses.items() if k.brand == brand and k.email == email),
            key=lambda s: _id_order(s.key),
        )
        head = f"  {_brand(brand, history.brand_names)}: "
        if opt_out is not None and opt_out.opted_out:
            since = f" since {iso(opt_out.timestamp)}" if opt_out.timestamp else ""
            lines.append(f"{head}opted out of all email{since}")
        else:
            lines.append(f"{head}not opted out of all email")
        for status in statuses:
            lines.append(f"    {_live_status(status)}")
    return lines


def _id_order(key: PairKey) -> tuple[int, str]:
    sub_id = key.subscription_id
    return (int(sub_id) if sub_id.isdigit() else 1 << 62, sub_id)


def _live_status(status: LiveStatus) -> str:
    name = f"{one_line(status.subscription_name)} " if status.subscription_name else ""
    if status.never_set:
        return f"{name}({status.key.subscription_id}): never set"
    text = f"{name}({status.key.subscription_id}): {status.status.value}"
    if status.timestamp is not None:
        text += f" since {iso(status.timestamp)}"
    if status.source:
        text += f", source {_quoted(status.source)}"
    if status.legal_basis or status.legal_basis_explanation:
        why = _quoted(status.legal_basis_explanation) if status.legal_basis_explanation else ""
        text += f", legal basis {' '.join(p for p in (status.legal_basis or '', why) if p)}"
    return text


def _skipped_lines(history: History) -> list[str]:
    return [
        f"warning: {s.file}:{s.line}: {s.why}; the line names someone asked for but was not read"
        for s in history.skipped
    ]


def render_history_text(history: History) -> str:
    """The history for a terminal (or a log): per person, every event, then live."""
    out: list[str] = []
    for email in history.emails:
        events = history.events.get(email, [])
        read = plural(history.lines_read, "line")
        where = f"{plural(len(history.files), 'journal')} ({read} read)"
        out.append(f"History of {email}: {plural(len(events), 'journal line')} in {where}")
        if not events:
            out.append("  hsprefs has made no change for this person in these journals.")
        for event in events:
            out.append("")
            head = f"{event.time}  {_brand(event.brand, history.brand_names)}  {_subject(event)}"
            out.append(f"{head}  {_change(event)}")
            if not event.known:
                out.append(f"    fields: {_others(event)}")
                out.append(f"    from {event.file}:{event.line}")
                continue
            basis = _basis(event)
            if event.kind != "verify":
                out.append(f"    legal basis sent: {basis}" if basis else "    no legal basis sent")
            out.append(f"    HubSpot: {_answer(event)}")
            out.append(f"    evidence: {_evidence(event)}")
        out.extend(_live_lines(history, email))
        out.append("")
    out.extend(_skipped_lines(history))
    return "\n".join(terminal_safe(line) for line in out).rstrip("\n") + "\n"


def _live_document(history: History, email: str) -> list[dict[str, Any]] | None:
    live = history.live
    if live is None:
        return None
    brands = []
    for brand in history.live_brands:
        opt_out = live.opt_outs.get(SubscriberKey(brand, email))
        statuses = sorted(
            (s for k, s in live.statuses.items() if k.brand == brand and k.email == email),
            key=lambda s: _id_order(s.key),
        )
        brands.append(
            {
                "brand": brand,
                "brand_name": history.brand_names.get(brand),
                "opted_out_of_all": bool(opt_out and opt_out.opted_out),
                "opted_out_since": iso(opt_out.timestamp)
                if opt_out and opt_out.opted_out and opt_out.timestamp
                else None,
                "statuses": [
                    {
                        "subscription_id": s.key.subscription_id,
                        "subscription_name": s.subscription_name,
                        "status": s.status.value,
                        "since": iso(s.timestamp) if s.timestamp else None,
                        "source": s.source,
                        "legal_basis": s.legal_basis,
                        "legal_basis_explanation": s.legal_basis_explanation,
                    }
                    for s in statuses
                ],
            }
        )
    return brands


def history_document(history: History) -> dict[str, Any]:
    """The history as a versioned JSON document: every line with all its fields."""
    return {
        "format": "hsprefs-history",
        "version": HISTORY_FORMAT_VERSION,
        "generator": f"hsprefs {__version__}",
        "journals": list(history.files),
        "lines_read": history.lines_read,
        "people": [
            {
                "email": email,
                "events": [
                    {
                        "file": e.file,
                        "line": e.line,
                        "kind": e.kind,
                        "brand_name": history.brand_names.get(e.brand)
                        if e.brand is not None
                        else None,
                        "journal_line": dict(e.fields),
                    }
                    for e in history.events.get(email, [])
                ],
                "live": _live_document(history, email),
            }
            for email in history.emails
        ],
        "skipped": [{"file": s.file, "line": s.line, "why": s.why} for s in history.skipped],
    }


def render_history_json(history: History) -> str:
    return json.dumps(history_document(history), indent=2, ensure_ascii=False) + "\n"


def render_history_markdown(history: History) -> str:
    """The history as Markdown: a table per person, for a reply to an access request."""
    out: list[str] = ["# Consent history", ""]
    out.append(
        f"From {plural(len(history.files), 'journal')}: "
        + ", ".join(f"`{markdown_cell(f)}`" for f in history.files)
        + f" ({plural(history.lines_read, 'line')} read)."
    )
    for email in history.emails:
        events = history.events.get(email, [])
        out += ["", f"## {markdown_cell(email)}", ""]
        if not events:
            out.append("hsprefs has made no change for this person in these journals.")
        else:
            out.append(
                "| when (UTC) | brand | subscription | change | legal basis sent | "
                "HubSpot's answer | evidence |"
            )
            out.append("|---|---|---|---|---|---|---|")
            for e in events:
                cells = [
                    e.time,
                    _brand(e.brand, history.brand_names),
                    _subject(e),
                    _change(e).replace(" -> ", " → "),
                    (_basis(e) or "none") if e.known and e.kind != "verify" else "",
                    _answer(e) if e.known else _others(e),
                    _evidence(e) if e.known else f"{e.file}:{e.line}",
                ]
                out.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
        live = _live_lines(history, email)
        if live:
            out += ["", "Now in HubSpot:", ""]
            out += [f"- {markdown_cell(line.strip())}" for line in live[2:]]
    for s in history.skipped:
        out += ["", f"> warning: `{s.file}:{s.line}`: {markdown_cell(s.why)}"]
    return "\n".join(out) + "\n"
