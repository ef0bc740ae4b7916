"""The versioned JSON document of an audit (``audit --format json``).

Schema: ``schemas/audit.schema.json``. With ``--redact`` every email address is masked,
in the items and inside the reasons.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from reconciler import __version__
from reconciler.audit import AUDIT_FORMAT_VERSION, AuditReport
from reconciler.plan import iso
from reconciler.redact import Redactor
from reconciler.render.audit_words import meaning

__all__ = ["audit_document", "render_audit_json"]


def audit_document(
    report: AuditReport, *, created_at: datetime | None = None, redactor: Redactor | None = None
) -> dict[str, Any]:
    """The report as a JSON-ready dict."""
    mask = redactor or Redactor(enabled=False)
    items = []
    for item in report.items:
        entry = item.to_dict()
        entry["email"] = mask.email(item.email)
        entry["reason"] = mask.text(item.reason) if item.reason is not None else None
        if item.live_source is not None:
            entry["live_source"] = mask.text(item.live_source)
        for name in ("live_legal_basis_explanation", "wanted_legal_basis_explanation"):
            if entry[name] is not None:
                entry[name] = mask.text(entry[name])
        entry["brand_name"] = report.brand_names.get(item.brand)
        entry["meaning"] = meaning(item)
        items.append(entry)
    return {
        "format": "hsprefs-audit",
        "version": AUDIT_FORMAT_VERSION,
        "generator": f"hsprefs {__version__}",
        "created_at": iso(created_at),
        "redacted": mask.enabled,
        "target": report.target.to_dict(),
        "config_digest": report.config_digest,
        "read_calls": report.read_calls,
        "in_sync": report.in_sync,
        "totals": report.totals.to_dict(),
        "brands": [b.named(report.brand_names) for b in report.brands()],
        "subscriptions": [s.to_dict() for s in report.subscriptions()],
        "items": items,
    }


def render_audit_json(
    report: AuditReport, *, created_at: datetime | None = None, redactor: Redactor | None = None
) -> str:
    """The audit document as indented JSON with a trailing newline."""
    document = audit_document(report, created_at=created_at, redactor=redactor)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
