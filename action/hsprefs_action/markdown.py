"""The plan as a pull-request comment and as a job summary, each under GitHub's cap.

Both are rendered from the plan document that ``hsprefs plan --format json`` prints
(already redacted when the action redacts). What a reviewer must see comes first, so a
plan too big for a comment keeps it: the summary, the mass-change guard's verdict, every
blocked pair, every resubscribe, then the first changes; what does not fit is counted,
and the comment always ends by saying where the full plan is (the job summary and the
artifact). The comment is measured in characters (GitHub refuses a body over 65,536),
the job summary in UTF-8 bytes (GitHub keeps 1 MiB per step).

Text from the config or from HubSpot enters a table only through :func:`cell`, so a
live string cannot break the layout, open HTML or end the hidden marker's comment.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COMMENT_LIMIT",
    "PLAN_FORMAT",
    "Where",
    "cell",
    "check_document",
    "guard_problems",
    "guard_verdict",
    "marker",
    "render_comment",
    "render_failure",
    "render_plan_summary",
    "summary_line",
]

# GitHub refuses a comment body over 65,536 characters; a little room is kept.
COMMENT_LIMIT = 65_000
# The saved plan's format and the versions these scripts read.
PLAN_FORMAT = "hsprefs-plan"
PLAN_VERSIONS = (1,)
# Room kept for the closing lines (what was left out, where the full plan is).
_TAIL_ROOM = 1_200

_CELL = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "`": "\\`",
        "[": "\\[",
        "]": "\\]",
        "*": "\\*",
        "_": "\\_",
        "~": "\\~",
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
    }
)


def cell(text: object) -> str:
    """``text`` as one table cell: shown as written, on one line, starting nothing."""
    return " ".join(str(text).splitlines()).translate(_CELL)


@dataclass(frozen=True)
class Where:
    """Where the full plan can be seen: this run's page and the artifact."""

    run_url: str | None = None
    artifact_name: str | None = None
    artifact_url: str | None = None

    def sentence(self, *, in_summary: bool = False) -> str:
        places = []
        if not in_summary:
            summary = "the job summary of this run"
            places.append(f"[{summary}]({self.run_url})" if self.run_url else summary)
        if self.artifact_name:
            name = f"`{cell(self.artifact_name[:100])}`"
            link = f"[{name}]({self.artifact_url})" if self.artifact_url else name
            places.append(f"the artifact {link} (`plan.json`, with real email addresses)")
        if not places:
            return "Run `hsprefs plan --format json` for the full plan."
        return "The full plan is in " + " and in ".join(places) + "."


def marker(key: str) -> str:
    """The hidden first line that finds the sticky comment again (one per ``key``)."""
    slug = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._/]+", "-", key)).strip("-") or "."
    return f"<!-- hsprefs-plan-comment: {slug} -->"


def check_document(doc: Any) -> dict[str, Any]:
    """The plan document, if it is one these scripts can read."""
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise ValueError("not an hsprefs plan document")
    if doc.get("version") not in PLAN_VERSIONS:
        raise ValueError(
            f"plan format version {doc.get('version')} is not one this action reads "
            f"({', '.join(map(str, PLAN_VERSIONS))}); use the action of the same release"
        )
    return doc


def summary_line(doc: dict[str, Any]) -> str:
    """``Plan: N to subscribe, ...``: the summary line hsprefs prints (design §5)."""
    s = doc["summary"]
    return (
        f"Plan: {s['subscribe']} to subscribe, {s['unsubscribe']} to unsubscribe, "
        f"{s['not_specified']} to not-specified, {s['unsubscribe_all']} unsubscribe-all, "
        f"{s['blocked']} blocked, {s['unchanged']} unchanged"
    )


def guard_problems(doc: dict[str, Any]) -> list[str]:
    """The mass-change thresholds the plan exceeds, in hsprefs's words
    (``reconciler.plan.policy_violations``; a test holds the two together)."""
    policy = doc["policy"]
    managed = int(doc["managed"])
    changes = len(doc["changes"])
    problems: list[str] = []
    if managed >= policy["min_managed"] and managed > 0:
        percent = 100.0 * changes / managed
        if percent > policy["max_change_percent"]:
            allowed = math.floor(managed * policy["max_change_percent"] / 100.0)
            problems.append(
                f"{changes} changes are {percent:.1f}% of {managed} managed statuses "
                "and opt-out flags, "
                f"over max_change_percent {policy['max_change_percent']:g}% "
                f"(at most {allowed} allowed, {changes - allowed} over)"
            )
    unsub_all = doc["summary"]["unsubscribe_all"]
    if unsub_all > policy["max_unsubscribe_all"]:
        problems.append(
            f"{unsub_all} unsubscribe-all exceed max_unsubscribe_all "
            f"{policy['max_unsubscribe_all']} ({unsub_all - policy['max_unsubscribe_all']} over)"
        )
    return problems


def guard_verdict(doc: dict[str, Any]) -> str:
    """One Markdown line: whether apply's mass-change guard lets this plan through."""
    problems = guard_problems(doc)
    if problems:
        return (
            "**Mass-change guard: apply will refuse this plan**: "
            + cell("; ".join(problems))
            + ". If the change is intended, apply it with `allow-mass-change: true` "
            "(`hsprefs apply --allow-mass-change`)."
        )
    policy = doc["policy"]
    changes, managed = len(doc["changes"]), int(doc["managed"])
    share = f"{100.0 * changes / managed:.1f}%" if managed else "0%"
    return (
        f"**Mass-change guard: passes**: {changes} of {managed} managed statuses change "
        f"({share}; at most {policy['max_change_percent']:g}% once "
        f"{policy['min_managed']} are managed), {doc['summary']['unsubscribe_all']} "
        f"unsubscribe-all (at most {policy['max_unsubscribe_all']})."
    )


def _label(item: dict[str, Any]) -> str:
    sid, alias = item.get("subscription_id"), item.get("alias")
    if sid is None:
        return "all email"
    return f"{alias} ({sid})" if alias and alias != sid else str(sid)


def _change_row(c: dict[str, Any]) -> str:
    if c["kind"] == "unsubscribe_all":
        move = f"unsubscribe from all email of brand {c['brand']}"
    else:
        move = f"{c['before']} → {c['after']}" + (" (resubscribe)" if c.get("resubscribe") else "")
    return f"| {c['brand']} | {cell(c['email'])} | {cell(_label(c))} | {cell(move)} |"


def _resubscribe_row(c: dict[str, Any]) -> str:
    return (
        f"| {c['brand']} | {cell(c['email'])} | {cell(_label(c))} | {cell(c['before'])} → "
        f"{cell(c['after'])} | {cell(c.get('consented_at') or '-')} "
        f"| {cell(c.get('legal_basis') or '-')} | {cell(c.get('legal_basis_explanation') or '-')} |"
    )


def _blocked_row(b: dict[str, Any]) -> str:
    what = "unsubscribe_all: false" if b.get("subscription_id") is None else _label(b)
    return (
        f"| {b['brand']} | {cell(b['email'])} | {cell(what)} | {cell(b['live'])} "
        f"| {cell(b['wanted'])} | {cell(b['reason'])} |"
    )


def _call_row(doc: dict[str, Any], index: int) -> str:
    call = doc["calls"][index]
    n = len(call["changes"])
    if call["operation"] == "unsubscribe-all":
        noun = "subscriber" if n == 1 else "subscribers"
        return (
            f"{index + 1}. POST statuses/batch/unsubscribe-all (brand {call['brand']}): {n} {noun}"
        )
    kinds: dict[str, int] = {}
    for i in call["changes"]:
        kind = doc["changes"][i]["kind"].replace("_", "-")
        kinds[kind] = kinds.get(kind, 0) + 1
    parts = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
    noun = "status" if n == 1 else "statuses"
    return f"{index + 1}. POST statuses/batch/write: {n} {noun} ({parts})"


@dataclass
class _Section:
    title: str
    header: Sequence[str]
    rows: Sequence[str]
    noun: str  # what a row is, for the "not shown" line
    is_open: bool = True


def _sections(doc: dict[str, Any], max_changes: int | None) -> list[_Section]:
    blocked = doc["blocked"]
    resubscribes = [c for c in doc["changes"] if c.get("resubscribe")]
    changes = doc["changes"]
    sections = []
    if blocked:
        sections.append(
            _Section(
                f"Blocked ({len(blocked)}): reported, never sent",
                [
                    "| brand | subscriber | subscription | live | wanted | reason |",
                    "|---:|---|---|---|---|---|",
                ],
                [_blocked_row(b) for b in blocked],
                "blocked pairs",
            )
        )
    if resubscribes:
        sections.append(
            _Section(
                f"Resubscribes ({len(resubscribes)}): away from an opt-out, on the config's "
                "evidence",
                [
                    "| brand | subscriber | subscription | change | consented at | legal basis "
                    "| explanation |",
                    "|---:|---|---|---|---|---|---|",
                ],
                [_resubscribe_row(c) for c in resubscribes],
                "resubscribes",
            )
        )
    if changes:
        shown = changes if max_changes is None else changes[:max_changes]
        sections.append(
            _Section(
                f"Changes ({len(changes)})",
                ["| brand | subscriber | subscription | change |", "|---:|---|---|---|"],
                [_change_row(c) for c in shown],
                "changes",
                is_open=len(changes) <= 50,
            )
        )
    return sections


def _fit(
    head: str,
    sections: Sequence[_Section],
    totals: dict[str, int],
    *,
    limit: int,
    measure: Callable[[str], int],
    tail: Callable[[dict[str, int]], str],
) -> str:
    """``head``, then as many rows of each section, in order, as fit in ``limit`` with
    room for ``tail(left_out)``, which names what was left out and where to see it."""
    parts = [head]
    size = measure(head)
    room = limit - _TAIL_ROOM
    left_out: dict[str, int] = {}
    for section in sections:
        opening = (
            f"\n<details{' open' if section.is_open else ''}><summary><b>{section.title}</b>"
            "</summary>\n\n" + "".join(line + "\n" for line in section.header)
        )
        closing = "\n</details>\n"
        total = totals.get(section.noun, len(section.rows))
        if size + measure(opening) + measure(closing) > room:
            left_out[section.noun] = total
            continue
        body = [opening]
        used = size + measure(opening) + measure(closing)
        shown = 0
        for row in section.rows:
            cost = measure(row) + 1
            if used + cost > room:
                break
            body.append(row + "\n")
            used += cost
            shown += 1
        if shown == 0:
            left_out[section.noun] = total
            continue
        body.append(closing)
        parts.extend(body)
        size = used
        if total > shown:
            left_out[section.noun] = total - shown
    out = "".join(parts) + tail(left_out)
    assert measure(out) <= limit, "the closing lines outgrew their room"
    return out


def _not_shown(left_out: dict[str, int], totals: dict[str, int]) -> str:
    parts = [f"{n:,} of {totals[noun]:,} {noun}" for noun, n in left_out.items() if n]
    return "Not shown here: " + ", ".join(parts) + "." if parts else ""


def _head(doc: dict[str, Any], title: str, commit: str | None) -> list[str]:
    s = doc["summary"]
    target = doc["target"]
    portal = target.get("portal_id")
    where = (
        f"Portal `{portal if portal is not None else 'unknown'}` · API "
        f"`{cell(target.get('api_version') or '?')}` at {cell(target.get('api_url') or '?')} · "
        f"checksum `{cell(doc['checksum'])}`"
    )
    if commit:
        where += f" · commit `{cell(commit[:12])}`"
    lines = [
        f"### {title[:200]}",
        "",
        f"**{cell(summary_line(doc))}**",
        "",
        "| subscribe | unsubscribe | not-specified | unsubscribe-all | blocked | unchanged |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {s['subscribe']} | {s['unsubscribe']} | {s['not_specified']} | "
        f"{s['unsubscribe_all']} | {s['blocked']} | {s['unchanged']} |",
        "",
        where,
        "",
    ]
    if doc["changes"]:
        lines.append(guard_verdict(doc))
    elif doc["blocked"]:
        lines.append("No changes to apply; the blocked pairs below stay as HubSpot has them.")
    else:
        lines.append("No changes. HubSpot matches the config.")
    return lines


def _totals(doc: dict[str, Any]) -> dict[str, int]:
    return {
        "blocked pairs": len(doc["blocked"]),
        "resubscribes": sum(1 for c in doc["changes"] if c.get("resubscribe")),
        "changes": len(doc["changes"]),
        "API calls": len(doc["calls"]),
    }


def render_comment(
    doc: dict[str, Any],
    *,
    key: str,
    title: str,
    where: Where,
    commit: str | None = None,
    max_changes: int = 200,
    limit: int = COMMENT_LIMIT,
) -> str:
    """The sticky comment: marker, summary, guard, every blocked pair and resubscribe,
    the first ``max_changes`` changes, and where the full plan is; at most ``limit``."""
    head = "\n".join([marker(key), *_head(doc, title, commit)]) + "\n"
    totals = _totals(doc)

    def tail(left_out: dict[str, int]) -> str:
        note = _not_shown(left_out, totals)
        return "\n" + (f"_{note}_ " if note else "") + where.sentence() + "\n"

    return _fit(head, _sections(doc, max_changes), totals, limit=limit, measure=len, tail=tail)


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def render_plan_summary(doc: dict[str, Any], *, title: str, where: Where, limit: int) -> str:
    """The job summary of a plan: the comment's layout with every row that fits in
    ``limit`` UTF-8 bytes, then the API calls."""
    head = "\n".join(_head(doc, title, None)) + "\n"
    totals = _totals(doc)
    sections = _sections(doc, None)
    if doc["calls"]:
        sections.append(
            _Section(
                f"API calls ({len(doc['calls'])})",
                [],
                [_call_row(doc, i) for i in range(len(doc["calls"]))],
                "API calls",
            )
        )

    def tail(left_out: dict[str, int]) -> str:
        note = _not_shown(left_out, totals)
        if not note:
            return ""
        return (
            f"\n_{note} (GitHub keeps 1 MiB of a job summary.) {where.sentence(in_summary=True)}_\n"
        )

    return _fit(head, sections, totals, limit=limit, measure=_bytes, tail=tail)


def render_failure(title: str, what: str, details: Sequence[str], *, key: str | None) -> str:
    """A comment or summary for a run that produced no plan: what failed, its error
    line(s) as a code block (at most 50 lines), and where to look."""
    lines = [marker(key)] if key is not None else []
    lines += [f"### {title}", "", f"**{cell(what)}**", ""]
    shown = [line[:500] for line in details[:50]]
    if shown:
        fence = "````"
        lines += [fence, *(line.replace(fence, "` ` ` `") for line in shown), fence, ""]
    if len(details) > len(shown):
        lines.append(f"_{len(details) - len(shown)} more lines are in the job log._")
    lines.append("See the job log and its annotations for the details.")
    return "\n".join(lines) + "\n"
