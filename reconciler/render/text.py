"""The plan for terminals: summary first, changes per subscriber, blocked pairs with
their reasons, then one line per API call. Colour only when the caller asks for it (the
CLI asks on a TTY without ``NO_COLOR``). Every line passes through
:func:`~reconciler.render.safe.terminal_safe` before it is coloured, so nothing from
HubSpot or the config (a status's ``source``, an address) can drive the terminal."""

from __future__ import annotations

from itertools import groupby

import click

from reconciler.plan import (
    Blocked,
    CallOperation,
    Change,
    ChangeKind,
    Plan,
    guard_refusal,
    subscription_label,
)
from reconciler.redact import Redactor
from reconciler.render.safe import terminal_safe

__all__ = ["describe_call", "paint", "render_text"]

_SIGN = {
    ChangeKind.UNSUBSCRIBE_ALL: ("!", "red"),
    ChangeKind.UNSUBSCRIBE: ("-", "red"),
    ChangeKind.NOT_SPECIFIED: ("~", "yellow"),
    ChangeKind.SUBSCRIBE: ("+", "green"),
}


def describe_call(plan: Plan, index: int) -> str:
    """One line per API call, e.g. ``POST statuses/batch/write: 3 statuses (...)``; in
    single mode ``POST statuses/{subscriber}: 1 status (1 subscribe)`` (the address is
    in the change it carries, so ``--redact`` has nothing to mask here)."""
    call = plan.calls[index]
    single = plan.target.single
    if call.operation == CallOperation.UNSUBSCRIBE_ALL:
        n = len(call.changes)
        noun = "subscriber" if n == 1 else "subscribers"
        path = (
            "statuses/{subscriber}/unsubscribe-all" if single else "statuses/batch/unsubscribe-all"
        )
        return f"POST {path} (brand {call.brand}): {n} {noun}"
    kinds: dict[ChangeKind, int] = {}
    for i in call.changes:
        kind = plan.changes[i].kind
        kinds[kind] = kinds.get(kind, 0) + 1
    parts = ", ".join(f"{n} {kind.value.replace('_', '-')}" for kind, n in kinds.items())
    n = len(call.changes)
    path = "statuses/{subscriber}" if single else "statuses/batch/write"
    return f"POST {path}: {n} {'status' if n == 1 else 'statuses'} ({parts})"


def paint(line: str, hue: str | None, color: bool) -> str:
    """``line`` made terminal-safe, then coloured ``hue`` when ``color`` is on."""
    safe = terminal_safe(line)
    return click.style(safe, fg=hue) if color and hue else safe


def _change_line(change: Change, color: bool) -> str:
    sign, hue = _SIGN[change.kind]
    if change.kind is ChangeKind.UNSUBSCRIBE_ALL:
        body = f"unsubscribe from all email of brand {change.brand}"
    else:
        label = subscription_label(change.alias, change.subscription_id)
        body = f"{label}: {change.before.value} -> {change.after.value}"
        if change.resubscribe:
            body += " (resubscribe)"
        if change.after.value == "SUBSCRIBED" and change.legal_basis:
            body += f"  [{change.legal_basis}]"
    return paint(f"{sign} {body}", hue, color)


def _blocked_line(entry: Blocked, mask: Redactor) -> str:
    if entry.subscription_id is None:
        what = f"unsubscribe_all: false (brand {entry.brand})"
    else:
        what = (
            f"{subscription_label(entry.alias, entry.subscription_id)}: "
            f"{entry.live} -> {entry.wanted}"
        )
    return f"x {mask.email(entry.email)} {what}: {mask.text(entry.reason)}"


def render_text(plan: Plan, *, color: bool = False, redactor: Redactor | None = None) -> str:
    """The whole plan as text with a trailing newline."""
    mask = redactor or Redactor(enabled=False)
    target = plan.target
    portal = f"portal {target.portal_id}" if target.portal_id is not None else "portal (unknown)"
    lines = [f"Plan: {plan.summary.line()}"]
    refusal = guard_refusal(plan)
    if refusal is not None:
        lines.append(paint(f"Guard: {refusal}", "red", color))
    lines += [
        terminal_safe(
            f"Target: {portal} at {target.api_url} "
            f"(API {target.api_version}, {target.api_mode} mode)"
        ),
        f"Checksum: {plan.checksum}",
    ]
    if plan.counts is not None:
        lines.append(f"Managed: {plan.counts.line()}")
    lines.extend(terminal_safe(f"Note: {note}") for note in plan.notes)
    if plan.implied:
        n = len(plan.implied)
        lines.append(
            f"Implied: {n} per-subscription {'unsubscribe' if n == 1 else 'unsubscribes'} "
            "carried by unsubscribe-all (no write of their own)"
        )
    if plan.changes:
        lines.append("")
        lines.append("Changes:")
        for brand, of_brand in groupby(plan.changes, key=lambda c: c.brand):
            lines.append(f"  brand {brand}")
            for email, of_email in groupby(of_brand, key=lambda c: c.email):
                lines.append(terminal_safe(f"    {mask.email(email)}"))
                lines.extend(f"      {_change_line(c, color)}" for c in of_email)
    if plan.blocked:
        lines.append("")
        lines.append("Blocked (reported, never sent):")
        for entry in plan.blocked:
            lines.append(paint(f"  {_blocked_line(entry, mask)}", "magenta", color))
            if entry.location:
                lines.append(terminal_safe(f"      declared at {entry.location}"))
    if plan.calls:
        lines.append("")
        lines.append(f"API calls ({len(plan.calls)}):")
        lines.extend(f"  {i + 1}. {describe_call(plan, i)}" for i in range(len(plan.calls)))
    elif plan.blocked:
        lines.append("")
        lines.append("No changes to apply: the blocked pairs above stay as HubSpot has them.")
    else:
        lines.append("")
        lines.append("No changes. HubSpot matches the config.")
    return "\n".join(lines) + "\n"
