"""Saved plans (``plan -o FILE``, ``apply --plan FILE``).

A saved plan is the JSON document of :mod:`reconciler.render.plan_json`, never
redacted: apply needs the real addresses, so the file is a private artifact (a new or
replaced file is written with mode 0600; a device or FIFO is written into in place, see
:mod:`reconciler.outfile`). Loading checks it against ``schemas/plan.schema.json`` and
recomputes the checksum, so a hand-edited plan is refused.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema

from reconciler.errors import PlanFileError
from reconciler.model import PairKey, Policy, Status
from reconciler.outfile import write_output
from reconciler.plan import PLAN_FORMAT_VERSION, Blocked, Change, ChangeKind, Plan, Target
from reconciler.render.plan_json import plan_document
from reconciler.resources import load_schema

__all__ = ["load_plan", "plan_from_document", "plan_text", "save_plan"]


def plan_text(plan: Plan, *, created_at: datetime) -> str:
    """The saved plan document as the text written to a plan file."""
    return json.dumps(plan_document(plan, created_at=created_at), indent=2) + "\n"


def save_plan(plan: Plan, path: Path, *, created_at: datetime) -> None:
    """Write the plan whole or not at all: a new or regular file is replaced atomically
    (temp file + rename, readable by the owner only); a device or FIFO is written into.
    Raises :class:`HsprefsError` naming the path and the OS error."""
    write_output(path, plan_text(plan, created_at=created_at), what="plan file")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def plan_from_document(document: Any, *, name: str = "plan") -> Plan:
    """Rebuild a :class:`Plan` from its JSON document, checking schema and checksum."""
    validator = jsonschema.Draft202012Validator(load_schema("plan.schema.json"))
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise PlanFileError(
            f"{name} is not a valid hsprefs plan: at {where}: {error.message[:200]}",
            hint="create it again with 'hsprefs plan -o FILE'",
        )
    if document["version"] != PLAN_FORMAT_VERSION:
        raise PlanFileError(f"{name} has plan format version {document['version']}")
    if document.get("redacted"):
        raise PlanFileError(
            f"{name} is a redacted plan and cannot be applied",
            hint="save plans with 'hsprefs plan -o FILE' (saved plans are never redacted)",
        )
    changes = tuple(
        Change(
            kind=ChangeKind(c["kind"]),
            brand=c["brand"],
            email=c["email"],
            subscription_id=c["subscription_id"],
            after=Status(c["after"]),
            before=Status(c["before"]),
            alias=c["alias"],
            live_timestamp=_time(c["live_timestamp"]),
            legal_basis=c["legal_basis"],
            legal_basis_explanation=c["legal_basis_explanation"],
            resubscribe=c["resubscribe"],
            location=c["location"],
            consented_at=_time(c["consented_at"]),
            opted_out_all=c["opted_out_all"],
            opt_out_timestamp=_time(c["opt_out_timestamp"]),
            own_evidence=c["own_evidence"],
        )
        for c in document["changes"]
    )
    blocked = tuple(
        Blocked(
            brand=b["brand"],
            email=b["email"],
            subscription_id=b["subscription_id"],
            wanted=b["wanted"],
            live=b["live"],
            reason=b["reason"],
            alias=b["alias"],
            live_timestamp=_time(b["live_timestamp"]),
            live_source=b["live_source"],
            location=b["location"],
        )
        for b in document["blocked"]
    )
    target = document["target"]
    plan = Plan(
        changes=changes,
        blocked=blocked,
        unchanged=document["summary"]["unchanged"],
        managed=document["managed"],
        implied=tuple(
            PairKey(k["brand"], k["email"], k["subscription_id"]) for k in document["implied"]
        ),
        batch_size=document["batch_size"],
        target=Target(target["portal_id"], target["api_url"], target["api_version"]),
        config_digest=document["config_digest"],
        read_calls=document["read_calls"],
        policy=Policy(**document["policy"]),
    )
    if plan.checksum != document["checksum"]:
        raise PlanFileError(
            f"{name} does not match its checksum: it was edited after it was saved",
            hint="create it again with 'hsprefs plan -o FILE'",
        )
    return plan


def load_plan(path: Path) -> Plan:
    """Read and check a saved plan file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlanFileError(
            f"cannot read plan file {path}: {exc.strerror or exc}",
            hint="give the file written by 'hsprefs plan -o FILE'",
        ) from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", 1)
        col = getattr(exc, "colno", 1)
        raise PlanFileError(
            f"{path}:{line}:{col}: plan file is not valid JSON",
            hint="create it again with 'hsprefs plan -o FILE'",
        ) from None
    return plan_from_document(document, name=str(path))
