"""The audit report as one self-contained HTML file for a compliance officer.

Summary, totals per brand and per subscription, and every managed pair in one table
that a few lines of inline JavaScript filter by verdict. Each pair is said in plain
words (:mod:`reconciler.render.audit_words`): the brand's name, what the config declares
and what HubSpot holds as sentences, who set it and when, the legal basis on both
sides, and what its verdict means. The pairs' table has fixed column widths and wraps
long values, so no column is cut off on a 1,280-pixel screen. No external assets: styles and
script are inline, and a Content-Security-Policy forbids the page to load anything else.
Every value from the config or from HubSpot is HTML-escaped; the script reads no data
from the page other than the verdict attribute of each row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html import escape

from reconciler import __version__
from reconciler.audit import AuditItem, AuditReport, PairState, Totals
from reconciler.plan import iso, subscription_label
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

__all__ = ["render_audit_html"]

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1f2328;
max-width:100%;box-sizing:border-box}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}
.meta{color:#57606a;margin:0 0 1rem}
.verdict{padding:.6rem .9rem;border-radius:6px;font-weight:600;display:inline-block}
.verdict.ok{background:#dafbe1;color:#116329}.verdict.drift{background:#fff8c5;color:#7d4e00}
.cards{display:flex;gap:.75rem;margin:1rem 0;flex-wrap:wrap}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem;min-width:7rem}
.card b{display:block;font-size:1.4rem}
table{border-collapse:collapse;width:100%;max-width:100%;margin:.5rem 0}
#pairs{table-layout:fixed}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;
overflow-wrap:break-word}
.tag{display:inline-block;min-width:4.2rem;color:#57606a;font-size:.85em}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.in_sync td.state{color:#116329}tr.drifted td.state{color:#9a6700}
tr.blocked td.state{color:#8250df}.filters button{margin-right:.4rem;padding:.25rem .7rem;
border:1px solid #d0d7de;border-radius:6px;background:#f6f8fa;cursor:pointer}
.filters button[aria-pressed=true]{background:#0969da;color:#fff;border-color:#0969da}
.note{color:#57606a;font-size:.92em}code{font-size:.92em}
@media print{.filters{display:none}}
""".strip()

# Reads only each row's data-state (set from a fixed set of values), never page text.
_SCRIPT = """
(function () {
  var buttons = document.querySelectorAll(".filters button");
  var rows = document.querySelectorAll("#pairs tbody tr");
  function show(state) {
    buttons.forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.filter === state));
    });
    var shown = 0;
    rows.forEach(function (r) {
      var visible = state === "all" || r.dataset.state === state;
      r.hidden = !visible;
      if (visible) { shown += 1; }
    });
    document.getElementById("shown").textContent = String(shown);
  }
  buttons.forEach(function (b) {
    b.addEventListener("click", function () { show(b.dataset.filter); });
  });
  show(document.querySelector(".filters").dataset.initial);
})();
""".strip()


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _counts(t: Totals) -> str:
    return "".join(f'<td class="n">{n}</td>' for n in (t.managed, t.in_sync, t.drifted, t.blocked))


def _pair_row(item: AuditItem, mask: Redactor, names: Mapping[int, str]) -> str:
    if item.state is PairState.BLOCKED:
        why = f'<div class="note">why: {_e(mask.text(item.reason or ""))}</div>'
    else:
        why = ""
    since = since_words(item)
    since_html = f'<div class="note">{_e(mask.text(since))}</div>' if since else ""
    where = (
        f'<div class="note">declared at {_e(item.location).replace("/", "/<wbr>")}</div>'
        if item.location
        else ""
    )
    if item.subscription_id is None:
        basis = '<span class="note">not asked for an opt-out of all</span>'
    else:
        held = legal_basis_words(item.live_legal_basis, item.live_legal_basis_explanation)
        declared = legal_basis_words(item.wanted_legal_basis, item.wanted_legal_basis_explanation)
        if declared == held and held != "none":
            declared = "the same"
        basis = (
            f'<div><span class="tag">HubSpot</span> {_e(mask.text(held))}</div>'
            f'<div><span class="tag">config</span> {_e(mask.text(declared))}</div>'
        )
    return (
        f'<tr class="{item.state.value}" data-state="{item.state.value}">'
        f"<td>{_e(brand_label(item.brand, names))}</td><td>{_e(mask.email(item.email))}</td>"
        f"<td>{_e(item_subject(item))}</td>"
        f'<td class="state"><b>{_e(item.state.label)}</b>'
        f'<div class="note">{_e(meaning(item))}</div>{why}</td>'
        f"<td>{_e(config_words(item, names))}{where}</td>"
        f"<td>{_e(hubspot_words(item, names))}{since_html}</td>"
        f"<td>{basis}</td></tr>"
    )


def render_audit_html(
    report: AuditReport, *, created_at: datetime | None = None, redactor: Redactor | None = None
) -> str:
    """The whole report as one HTML document with a trailing newline."""
    mask = redactor or Redactor(enabled=False)
    target = report.target
    totals = report.totals
    if not report.items:
        verdict = '<p class="verdict ok">Nothing is managed: the config declares no subscriber.</p>'
    elif report.in_sync:
        verdict = '<p class="verdict ok">In sync: HubSpot matches the config.</p>'
    else:
        verdict = f'<p class="verdict drift">Drift: {_e(drift_sentence(totals))}</p>'
    when = f" · {_e(iso(created_at))}" if created_at else ""
    redacted = " · email addresses masked" if mask.enabled else ""
    cards = "".join(
        f'<div class="card"><b>{n}</b>{label}</div>'
        for n, label in (
            (totals.managed, "managed"),
            (totals.in_sync, "in sync"),
            (totals.drifted, "drifted"),
            (totals.blocked, "blocked"),
        )
    )
    names = report.brand_names
    brand_rows = "".join(
        f"<tr><td>{_e(brand_label(b.brand, names))}</td>{_counts(b.totals)}</tr>"
        for b in report.brands()
    )
    sub_rows = "".join(
        f"<tr><td>{_e(brand_label(s.brand, names))}</td><td>"
        + _e(
            "all email (unsubscribe_all)"
            if s.subscription_id is None
            else subscription_label(s.alias, s.subscription_id)
        )
        + f"</td>{_counts(s.totals)}</tr>"
        for s in report.subscriptions()
    )
    pair_rows = "\n".join(_pair_row(item, mask, names) for item in report.items)
    initial = "all" if report.in_sync else "drift"
    buttons = "".join(
        f'<button type="button" data-filter="{key}" aria-pressed="false">{label} ({n})</button>'
        for key, label, n in (
            ("all", "All", totals.managed),
            ("drifted", "Drifted", totals.drifted),
            ("blocked", "Blocked", totals.blocked),
            ("in_sync", "In sync", totals.in_sync),
        )
    )
    # "drift" is not a filter of its own: start on the drifted rows when there are any,
    # else on the blocked ones.
    if initial == "drift":
        initial = "drifted" if totals.drifted else "blocked"
    head_cells = "".join(f"<th>{h}</th>" for h in ("managed", "in sync", "drifted", "blocked"))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="hsprefs {_e(__version__)}">
<title>hsprefs audit · portal {_e(target.portal_id)}</title>
<style>
{_STYLE}
</style>
</head>
<body>
<h1>hsprefs audit</h1>
<p class="meta">Portal {_e(target.portal_id)} · API {_e(target.api_version)} at \
{_e(target.api_url)}{when}{redacted}</p>
{verdict}
<div class="cards">{cards}</div>
<h2>By brand</h2>
<table><thead><tr><th>brand</th>{head_cells}</tr></thead>
<tbody>{brand_rows}</tbody></table>
<h2>By subscription</h2>
<table><thead><tr><th>brand</th><th>subscription</th>{head_cells}</tr></thead>
<tbody>{sub_rows}</tbody></table>
<h2>Managed pairs</h2>
<p class="filters" data-initial="{initial}">{buttons}</p>
<p class="note">Showing <span id="shown">{totals.managed}</span> of {totals.managed}. \
<b>In sync</b>: HubSpot holds what the config declares. <b>Drifted</b>: HubSpot differs \
and the next apply will change it. <b>Blocked</b>: HubSpot differs, but the consent rules \
forbid the change (for example the person opted out). "by ..." is who or what HubSpot \
says set the status; "never set" means nobody has ever asked this person.</p>
<table id="pairs"><colgroup><col style="width:8%"><col style="width:14%">\
<col style="width:10%"><col style="width:19%"><col style="width:13%"><col style="width:14%">\
<col style="width:22%"></colgroup><thead><tr><th>brand</th><th>subscriber</th>\
<th>subscription</th><th>verdict</th><th>the config declares</th><th>HubSpot holds</th>\
<th>legal basis</th></tr></thead>
<tbody>
{pair_rows}
</tbody></table>
<script>
{_SCRIPT}
</script>
</body>
</html>
"""
