"""The versioned JSON document of a plan: what ``plan --format json`` prints and what
``plan -o`` saves (then never redacted). Schema: ``schemas/plan.schema.json``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from reconciler import __version__
from reconciler.plan import PLAN_FORMAT_VERSION, Plan, iso, policy_dict
from reconciler.render.redact import Redactor

__all__ = ["plan_document", "render_json"]


def plan_document(
    plan: Plan, *, created_at: datetime | None = None, redactor: Redactor | None = None
) -> dict[str, Any]:
    """The plan as a JSON-ready dict (``redactor`` masks emails; saved plans never use it)."""
    mask = redactor or Redactor(enabled=False)
    changes = []
    for change in plan.changes:
        item = change.to_dict()
        item["email"] = mask.email(change.email)
        if change.legal_basis_explanation:
            item["legal_basis_explanation"] = mask.text(change.legal_basis_explanation)
        changes.append(item)
    blocked = []
    for entry in plan.blocked:
        item = entry.to_dict()
        item["email"] = mask.email(entry.email)
        item["reason"] = mask.text(entry.reason)
        if entry.live_source:
            item["live_source"] = mask.text(entry.live_source)
        blocked.append(item)
    return {
        "format": "hsprefs-plan",
        "version": PLAN_FORMAT_VERSION,
        "generator": f"hsprefs {__version__}",
        "created_at": iso(created_at),
        "checksum": plan.checksum,
        "redacted": mask.enabled,
        "target": plan.target.to_dict(),
        "config_digest": plan.config_digest,
        "batch_size": plan.batch_size,
        "summary": plan.summary.to_dict(),
        "managed": plan.managed,
        "policy": policy_dict(plan.policy),
        "read_calls": plan.read_calls,
        "changes": changes,
        "blocked": blocked,
        "implied": [
            {"brand": k.brand, "email": mask.email(k.email), "subscription_id": k.subscription_id}
            for k in plan.implied
        ],
        "calls": [call.to_dict() for call in plan.calls],
    }


def render_json(
    plan: Plan, *, created_at: datetime | None = None, redactor: Redactor | None = None
) -> str:
    """The plan document as indented JSON with a trailing newline."""
    document = plan_document(plan, created_at=created_at, redactor=redactor)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
