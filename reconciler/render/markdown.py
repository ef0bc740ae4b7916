"""The plan as Markdown for pull-request comments.

A summary table (with the mass-change guard's verdict and the plan's notes), then
collapsible sections carrying the consent evidence as the text plan does: every change
with the legal basis its write sends and where it is declared (so a pair declared in two
files shows whose basis is sent), resubscribes marked and listed with their evidence,
blocked pairs with their reason and where they are declared. The output is capped below GitHub's
65,536-character comment limit: rows that do not fit are left out and a closing line
says how many and how to see them all. Text from the config or from HubSpot goes into a
table cell only through :func:`markdown_cell`, so a live string cannot break the layout.
"""

from __future__ import annotations

from reconciler.plan import Change, Plan, guard_refusal, iso, subscription_label
from reconciler.redact import Redactor
from reconciler.render.text import describe_call

__all__ = ["MARKDOWN_LIMIT", "fit_sections", "markdown_cell", "render_markdown"]

MARKDOWN_LIMIT = 65_000  # GitHub rejects comments over 65,536 characters


# What a table cell must not pass through as is. Live strings (HubSpot's free-text
# ``source`` inside a blocked reason, for one) land in cells: ``|`` would split the cell,
# a line break end the row, ``<`` open raw HTML (``</details>`` closes our section,
# ``<!--`` hides the rest of the comment), ``&`` start an entity, a backtick a code span,
# ``[``/``]`` a link or image, and ``*``, ``_``, ``~`` emphasis or strikethrough (an
# address such as ``*vip*@example.com`` must not render as italics in a review).
# HTML-significant characters become entities, the rest get a backslash: either way the
# reader sees the character itself, and only that.
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


def markdown_cell(text: str) -> str:
    """``text`` made safe as one cell of a GitHub-flavoured Markdown table: shown as
    written, on one line, without starting HTML, code, links, emphasis or a new cell."""
    return " ".join(text.splitlines()).translate(_CELL)


def render_markdown(
    plan: Plan, *, redactor: Redactor | None = None, limit: int = MARKDOWN_LIMIT
) -> str:
    """The plan as GitHub-flavoured Markdown, at most ``limit`` characters."""
    mask = redactor or Redactor(enabled=False)
    s = plan.summary
    target = plan.target
    head = [
        "### hsprefs plan",
        "",
        "| subscribe | unsubscribe | not-specified | unsubscribe-all | blocked | unchanged |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {s.subscribe} | {s.unsubscribe} | {s.not_specified} | {s.unsubscribe_all} "
        f"| {s.blocked} | {s.unchanged} |",
        "",
        f"Portal `{target.portal_id}` · API `{target.api_version}` at `{target.api_url}` · "
        f"{target.api_mode} mode · checksum `{plan.checksum}`",
    ]
    if plan.counts is not None:
        head += ["", f"Managed: {plan.counts.line()}"]
    head += [f"\n**Note:** {markdown_cell(note)}" for note in plan.notes]
    refusal = guard_refusal(plan)
    if refusal is not None:
        head += ["", f"**Mass-change guard:** {markdown_cell(refusal)}"]
    if not plan.changes and not plan.blocked:
        head += ["", "No changes. HubSpot matches the config."]
    sections: list[tuple[str, list[str], list[str]]] = []
    if plan.changes:
        rows = []
        for c in plan.changes:
            if c.subscription_id is None:
                what, move = "*all email*", "unsubscribe-all"  # our markup: not escaped
            else:
                what = markdown_cell(subscription_label(c.alias, c.subscription_id))
                move = f"{c.before.value} → {c.after.value}"
                if c.resubscribe:
                    move += " **(resubscribe)**"
            email = markdown_cell(mask.email(c.email))
            basis = markdown_cell(c.legal_basis) if c.legal_basis and c.subscription_id else ""
            where = markdown_cell(c.location or "")
            rows.append(f"| {c.brand} | {email} | {what} | {move} | {basis} | {where} |")
        sections.append(
            (
                f"Changes ({len(plan.changes)})",
                [
                    "| brand | subscriber | subscription | change | legal basis sent "
                    "| declared at |",
                    "|---:|---|---|---|---|---|",
                ],
                rows,
            )
        )
    resubscribes = [c for c in plan.changes if c.resubscribe]
    if resubscribes:
        rows = []
        for c in resubscribes:
            email = markdown_cell(mask.email(c.email))
            what = markdown_cell(subscription_label(c.alias, c.subscription_id))
            why = markdown_cell(mask.text(_evidence(c)))
            where = markdown_cell(c.location or "")
            rows.append(f"| {c.brand} | {email} | {what} | {where} | {why} |")
        sections.append(
            (
                f"Resubscribes ({len(resubscribes)}): moves away from an opt-out, with evidence",
                [
                    "| brand | subscriber | subscription | declared at | evidence |",
                    "|---:|---|---|---|---|",
                ],
                rows,
            )
        )
    if plan.blocked:
        rows = []
        for b in plan.blocked:
            what = (
                "*unsubscribe_all: false*"
                if b.subscription_id is None
                else markdown_cell(subscription_label(b.alias, b.subscription_id))
            )
            email = markdown_cell(mask.email(b.email))
            rows.append(
                f"| {b.brand} | {email} | {what} | {b.live} "
                f"| {b.wanted} | {markdown_cell(mask.text(b.reason))} "
                f"| {markdown_cell(b.location or '')} |"
            )
        sections.append(
            (
                f"Blocked ({len(plan.blocked)}): reported, never sent",
                [
                    "| brand | subscriber | subscription | live | wanted | reason | declared at |",
                    "|---:|---|---|---|---|---|---|",
                ],
                rows,
            )
        )
    if plan.calls:
        rows = [f"{i + 1}. {describe_call(plan, i)}" for i in range(len(plan.calls))]
        sections.append((f"API calls ({len(plan.calls)})", [], rows))

    opened = [
        (f"\n<details><summary>{title}</summary>\n\n" + "".join(h + "\n" for h in header), rows)
        for title, header, rows in sections
    ]
    return fit_sections(
        "\n".join(head) + "\n",
        opened,
        limit,
        "run `hsprefs plan --format json` for the full plan.",
    )


def _evidence(change: Change) -> str:
    """The consent evidence a resubscribe carries: its basis, explanation and time."""
    parts = [f"legal basis {change.legal_basis or '(none)'}"]
    if change.legal_basis_explanation:
        parts.append(f"explanation: {change.legal_basis_explanation}")
    if change.consented_at is not None:
        parts.append(f"consented at {iso(change.consented_at)}")
    return "; ".join(parts)


def fit_sections(head: str, sections: list[tuple[str, list[str]]], limit: int, full: str) -> str:
    """``head``, then each (opening, rows) section closed by ``</details>``, at most
    ``limit`` characters: rows that do not fit are counted in a closing line ending in
    ``full`` (where to see everything). Shared by the plan and audit renderers."""
    out = head
    left_out = 0
    footer_room = 200
    closing = "\n</details>\n"
    for opening, rows in sections:
        if left_out or len(out) + len(opening) + len(closing) + footer_room > limit:
            left_out += len(rows)
            continue
        out += opening
        for index, row in enumerate(rows):
            if len(out) + len(row) + 1 + len(closing) + footer_room > limit:
                left_out += len(rows) - index
                break
            out += row + "\n"
        out += closing
    if left_out:
        out += f"\n_{left_out} more rows are not shown (GitHub comment size limit); {full}_\n"
    return out
