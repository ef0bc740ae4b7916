"""The plan document, both directions: what ``plan -o`` saves and ``apply --plan`` reads.

:func:`plan_document` writes a :class:`~reconciler.plan.Plan` as the versioned JSON
document of ``schemas/plan.schema.json`` (``plan --format json`` prints it too, masked
with ``--redact``), and :func:`plan_from_document` reads it back, checking it against
the schema and recomputing the checksum, so a hand-edited plan is refused. The parts
(changes, blocked pairs, the target, the policy) are written and read by their own
``to_dict``/``from_dict`` in :mod:`reconciler.plan`.

A saved plan is never redacted: apply needs the real addresses, so the file is a private
artifact (a new or replaced file is written with mode 0600; a device or FIFO is written
into in place, see :mod:`reconciler.outfile`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from reconciler import __version__
from reconciler.config._schema import BASE_URI, compiled
from reconciler.errors import PlanFileError
from reconciler.model import Counts, PairKey
from reconciler.outfile import open_output
from reconciler.plan import (
    PLAN_FORMAT_VERSION,
    Blocked,
    Change,
    Plan,
    Target,
    guard_refusal,
    iso,
    policy_dict,
    policy_from_dict,
    same_as_ascii_json,
    sharing,
)
from reconciler.redact import Redactor
from reconciler.resources import load_schema

PLAN_SCHEMA = BASE_URI + "plan.schema.json"

__all__ = [
    "load_plan",
    "plan_document",
    "plan_from_document",
    "plan_text",
    "render_json",
    "save_plan",
]


def plan_document(
    plan: Plan, *, created_at: datetime | None = None, redactor: Redactor | None = None
) -> dict[str, Any]:
    """The plan as a JSON-ready dict (``redactor`` masks emails; saved plans never use it)."""
    return {
        key: list(value) if isinstance(value, Iterator) else value
        for key, value in _document(plan, created_at, redactor).items()
    }


def _document(plan: Plan, created_at: datetime | None, redactor: Redactor | None) -> dict[str, Any]:
    """The document with its four long lists as iterators, made one item at a time."""
    mask = redactor or Redactor(enabled=False)

    def changes() -> Iterator[dict[str, Any]]:
        for change in plan.changes:
            item = change.to_dict()
            item["email"] = mask.email(change.email)
            if change.legal_basis_explanation:
                item["legal_basis_explanation"] = mask.text(change.legal_basis_explanation)
            yield item

    def blocked() -> Iterator[dict[str, Any]]:
        for entry in plan.blocked:
            item = entry.to_dict()
            item["email"] = mask.email(entry.email)
            item["reason"] = mask.text(entry.reason)
            if entry.live_source:
                item["live_source"] = mask.text(entry.live_source)
            yield item

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
        "summary": {**plan.summary.to_dict(), "guard": guard_refusal(plan)},
        "managed": plan.managed,
        "policy": policy_dict(plan.policy),
        "read_calls": plan.read_calls,
        "changes": changes(),
        "blocked": blocked(),
        "implied": (
            {"brand": k.brand, "email": mask.email(k.email), "subscription_id": k.subscription_id}
            for k in plan.implied
        ),
        "calls": (call.to_dict() for call in plan.calls),
        "notes": list(plan.notes),
        "counts": _counts(plan),
        "gdpr": plan.gdpr,
    }


def _counts(plan: Plan) -> dict[str, int] | None:
    counts = plan.counts
    if counts is None:
        return None
    return {
        "subscribers": counts.subscribers,
        "managed_statuses": counts.statuses,
        "opt_out_flags": counts.opt_out_flags,
    }


def plan_from_document(document: Any, *, name: str = "plan") -> Plan:
    """Rebuild a :class:`Plan` from its JSON document, checking schema and checksum."""
    _check_schema(document, name)
    if document["version"] != PLAN_FORMAT_VERSION:
        raise PlanFileError(f"{name} has plan format version {document['version']}")
    if document.get("redacted"):
        raise PlanFileError(
            f"{name} is a redacted plan and cannot be applied",
            hint="save plans with 'hsprefs plan -o FILE' (saved plans are never redacted)",
        )
    shared = sharing()
    plan = Plan(
        changes=tuple(Change.from_dict(c, shared) for c in document["changes"]),
        blocked=tuple(Blocked.from_dict(b) for b in document["blocked"]),
        unchanged=document["summary"]["unchanged"],
        managed=document["managed"],
        implied=tuple(
            PairKey(k["brand"], k["email"], k["subscription_id"]) for k in document["implied"]
        ),
        batch_size=document["batch_size"],
        target=Target.from_dict(document["target"]),
        config_digest=document["config_digest"],
        read_calls=document["read_calls"],
        policy=policy_from_dict(document["policy"]),
        notes=tuple(document.get("notes", ())),
        counts=_counts_from(document.get("counts")),
        gdpr=document.get("gdpr"),
    )
    if plan.checksum != document["checksum"]:
        raise PlanFileError(
            f"{name} does not match its checksum: it was edited after it was saved",
            hint="create it again with 'hsprefs plan -o FILE'",
        )
    return plan


def _check_schema(document: Any, name: str) -> None:
    """Refuse a document that breaks ``schemas/plan.schema.json``.

    The compiled acceptor of the config schemas (:mod:`reconciler.config._acceptor`) says
    yes to a valid plan in one pass; only a "no" reaches jsonschema, whose best match is
    the refusal. The acceptor is never more lenient than jsonschema (it takes 5.0 for no
    whole number, jsonschema does), so a plan it doubts gets jsonschema's own verdict.
    """
    acceptor = compiled(PLAN_SCHEMA)
    if acceptor is not None and acceptor.check(document):
        return
    import jsonschema  # only for a plan the acceptor doubts: a broken or odd one

    validator = jsonschema.Draft202012Validator(load_schema("plan.schema.json"))
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise PlanFileError(
            f"{name} is not a valid hsprefs plan: at {where}: {error.message[:200]}",
            hint="create it again with 'hsprefs plan -o FILE'",
        )


def _counts_from(data: Any) -> Counts | None:
    if not isinstance(data, dict):
        return None
    return Counts(data["subscribers"], data["managed_statuses"], data["opt_out_flags"])


def render_json(
    plan: Plan, *, created_at: datetime | None = None, redactor: Redactor | None = None
) -> str:
    """``plan --format json``: the plan document as indented JSON with a trailing newline."""
    document = plan_document(plan, created_at=created_at, redactor=redactor)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def plan_text(plan: Plan, *, created_at: datetime) -> str:
    """The saved plan document as the text written to a plan file (ASCII JSON)."""
    return "".join(_pieces(_document(plan, created_at, None))) + "\n"


def save_plan(plan: Plan, path: Path, *, created_at: datetime) -> None:
    """Write the plan whole or not at all: a new or regular file is replaced atomically
    (temp file + rename, readable by the owner only); a device or FIFO is written into.
    The document is written a thousand changes at a time, never held whole in memory.
    Raises :class:`HsprefsError` naming the path and the OS error."""
    with open_output(path, what="plan file") as stream:
        for piece in _pieces(_document(plan, created_at, None)):
            stream.write(piece)
        stream.write("\n")


# Items per piece of a long list.
_CHUNK = 1000


def _pieces(document: dict[str, Any]) -> Iterator[str]:
    """``json.dumps(document, indent=2)`` in pieces: the same text, a top-level value or a
    thousand items of a long list at a time (the lists are iterators)."""
    yield "{"
    separator = "\n"
    for key, value in document.items():
        yield f"{separator}  {json.dumps(key)}: "
        separator = ",\n"
        if not isinstance(value, Iterator):
            yield _indented(value, 1)
            continue
        comma = ""
        while chunk := list(itertools.islice(value, _CHUNK)):
            # A list at depth one is "[\n    item,\n    item\n  ]": keep its items.
            yield comma if comma else "["
            yield _indented(chunk, 1)[1:-4]
            comma = ","
        yield "\n  ]" if comma else "[]"
    yield "\n}"


def _indented(value: Any, depth: int) -> str:
    """``value`` as ``json.dumps(indent=2)`` writes it ``depth`` levels down (ASCII).

    orjson writes it about ten times faster in the same layout; a value with a character
    beyond ASCII (an address or an explanation) or a DEL is written by the standard
    library, which escapes it, so the text is the same either way.
    """
    raw = orjson.dumps(value, option=orjson.OPT_INDENT_2)
    text = raw.decode("ascii") if same_as_ascii_json(raw) else json.dumps(value, indent=2)
    return text.replace("\n", "\n" + "  " * depth) if depth else text


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
        text = raw.decode("utf-8")
        # The bytes and then the text go as soon as they are read: a million-change plan
        # is hundreds of megabytes of each, besides the document and the plan built of it.
        del raw
        document = json.loads(text)
        del text
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", 1)
        col = getattr(exc, "colno", 1)
        raise PlanFileError(
            f"{path}:{line}:{col}: plan file is not valid JSON",
            hint="create it again with 'hsprefs plan -o FILE'",
        ) from None
    return plan_from_document(document, name=str(path))
