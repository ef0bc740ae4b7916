"""The audit report as Markdown (for a pull request, an issue or a wiki page).

Totals tables first, then the drifted and blocked pairs, then the in-sync pairs in a
collapsed section, each pair in the plain words of
:mod:`reconciler.render.audit_words`. Capped below GitHub's comment limit like the
plan's Markdown: rows that do not fit are left out and a closing line says how many and
how to see them all.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.audit import AuditItem, AuditReport, PairState, Totals
from reconciler.plan import subscription_label
from reconciler.redact import Redactor
from reconciler.render.audit_text import drift_sentence, item_subject
from reconciler.render.audit_words import (
    brand_label,
    config_words,
    hubspot_words,
    legal_basis_words,
    meaning,
    since_words,
)
from reconciler.render.markdown import MARKDOWN_LIMIT, fit_sections
from reconciler.render.markdown import markdown_cell as _cell

__all__ = ["render_audit_markdown"]


def _counts(t: Totals) -> str:
    return f"{t.managed} | {t.in_sync} | {t.drifted} | {t.blocked}"


def _row(item: AuditItem, mask: Redactor, names: Mapping[int, str]) -> str:
    note = meaning(item)
    if item.state is PairState.BLOCKED:
        note += f" Why: {mask.text(item.reason or '')}"
    hubspot = hubspot_words(item, names)
    since = since_words(item)
    if since:
        hubspot += f", {since}"
    if item.subscription_id is None:
        basis = ""
    else:
        held = legal_basis_words(item.live_legal_basis, item.live_legal_basis_explanation)
        declared = legal_basis_words(item.wanted_legal_basis, item.wanted_legal_basis_explanation)
        basis = f"HubSpot: {held}; config: {'the same' if declared == held != 'none' else declared}"
    return (
        f"| {_cell(brand_label(item.brand, names))} | {_cell(mask.email(item.email))} "
        f"| {_cell(item_subject(item))} | {_cell(config_words(item, names))} "
        f"| {_cell(mask.text(hubspot))} | {_cell(mask.text(basis))} | {_cell(note)} |"
    )


_HEADER = [
    "| brand | subscriber | subscription | the config declares | HubSpot holds | legal basis "
    "| what this means |",
    "|---|---|---|---|---|---|---|",
]


def render_audit_markdown(
    report: AuditReport, *, redactor: Redactor | None = None, limit: int = MARKDOWN_LIMIT
) -> str:
    """The report as GitHub-flavoured Markdown, at most ``limit`` characters."""
    mask = redactor or Redactor(enabled=False)
    target = report.target
    totals = report.totals
    verdict = (
        "**In sync**: HubSpot matches the config."
        if report.in_sync
        else f"**Drift**: {drift_sentence(totals)}"
    )
    head = [
        "### hsprefs audit",
        "",
        verdict,
        "",
        f"Portal `{target.portal_id}` · API `{target.api_version}` at `{target.api_url}`",
        "",
        "| brand | managed | in sync | drifted | blocked |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {_cell(brand_label(b.brand, report.brand_names))} | {_counts(b.totals)} |"
            for b in report.brands()
        ],
        f"| **all** | {_counts(totals)} |",
        "",
        "| brand | subscription | managed | in sync | drifted | blocked |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in report.subscriptions():
        label = (
            "all email (unsubscribe_all)"
            if s.subscription_id is None
            else subscription_label(s.alias, s.subscription_id)
        )
        brand = _cell(brand_label(s.brand, report.brand_names))
        head.append(f"| {brand} | {_cell(label)} | {_counts(s.totals)} |")

    sections: list[tuple[str, bool, list[str]]] = []
    for state, title, opened in (
        (PairState.DRIFTED, "Drifted: a plan would change them", True),
        (PairState.BLOCKED, "Blocked: they differ, but the consent rules forbid the change", True),
        (PairState.IN_SYNC, "In sync", False),
    ):
        items = report.of(state)
        if items:
            rows = [_row(item, mask, report.brand_names) for item in items]
            sections.append((f"{title} ({len(items)})", opened, rows))

    boxed = [
        (
            f"\n<details{' open' if is_open else ''}><summary>{title}</summary>\n\n"
            + "".join(h + "\n" for h in _HEADER),
            rows,
        )
        for title, is_open, rows in sections
    ]
    return fit_sections(
        "\n".join(head) + "\n",
        boxed,
        limit,
        "run `hsprefs audit --format json` or `--format html` for the full report.",
    )
