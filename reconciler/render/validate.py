"""What ``hsprefs validate`` prints: findings as text, JSON or GitHub annotations.

``text``: ``file:line:col: error: message`` lines and a one-line summary; ``json``: a
versioned document (``schemas/validate.schema.json``); ``github``: workflow commands
that GitHub Actions shows as annotations on the pull request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler import __version__
from reconciler.errors import Finding
from reconciler.model import DesiredState
from reconciler.words import plural

__all__ = ["VALIDATE_FORMAT_VERSION", "document", "render_validate", "summary"]

VALIDATE_FORMAT_VERSION = 1


def _counts(findings: Sequence[Finding]) -> tuple[int, int]:
    errors = sum(1 for f in findings if f.severity == "error")
    return errors, len(findings) - errors


def summary(state: DesiredState | None, findings: Sequence[Finding]) -> str:
    """``ok: 3 files, 12 subscribers, 20 managed statuses, 2 opt-out flags`` or ``2 errors
    in 1 file``."""
    errors, warnings = _counts(findings)
    if state is None or errors:
        files = len({f.file for f in findings})
        parts = [plural(errors, "error")]
        if warnings:
            parts.append(plural(warnings, "warning"))
        return f"{', '.join(parts)} in {plural(files, 'file')}"
    text = f"ok: {plural(len(state.files), 'file')}, {state.counts().line()}"
    if warnings:
        text += f", {plural(warnings, 'warning')}"
    return text


def _escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def document(state: DesiredState | None, findings: Sequence[Finding]) -> dict[str, Any]:
    """The ``--format json`` document."""
    errors, warnings = _counts(findings)
    emails = (
        {k.email for k in state.statuses} | {k.email for k in state.opt_outs} if state else set()
    )
    return {
        "format": "hsprefs-validate",
        "version": VALIDATE_FORMAT_VERSION,
        "generator": f"hsprefs {__version__}",
        "valid": errors == 0 and state is not None,
        "summary": {
            "errors": errors,
            "warnings": warnings,
            "files": len(state.files) if state else len({f.file for f in findings}),
            "subscribers": len(emails),
            "statuses": len(state.statuses) if state else 0,
            "opt_outs": len(state.opt_outs) if state else 0,
        },
        "files": list(state.files) if state else [],
        "findings": [
            {
                "file": f.file,
                "line": f.line,
                "column": f.column,
                "severity": f.severity,
                "code": f.code,
                "message": f.message,
            }
            for f in findings
        ],
    }


def render_validate(
    state: DesiredState | None, findings: Sequence[Finding], fmt: str, *, quiet: bool = False
) -> str:
    """What ``validate`` prints on stdout for ``fmt`` (text, json or github)."""
    if fmt == "json":
        return json.dumps(document(state, findings), indent=2, ensure_ascii=False) + "\n"
    lines: list[str] = []
    if fmt == "github":
        for f in findings:
            kind = "error" if f.severity == "error" else "warning"
            lines.append(
                f"::{kind} file={_escape(f.file, prop=True)},line={f.line},"
                f"col={f.column}::{_escape(f.message)}"
            )
    else:
        lines.extend(str(f) for f in findings)
    if not quiet or findings:
        lines.append(summary(state, findings))
    return "".join(line + "\n" for line in lines)
