"""Renderers: plans (and reports) to strings. No I/O; the CLI writes what they return.

* :func:`render_text` — for terminals; colour only when the caller says so.
* :func:`render_markdown` — for pull-request comments, capped below GitHub's limit.
* :func:`render_json` — the versioned plan document (``schemas/plan.schema.json``).
"""

from reconciler.render.markdown import MARKDOWN_LIMIT, render_markdown
from reconciler.render.plan_json import plan_document, render_json
from reconciler.render.redact import Redactor
from reconciler.render.text import render_text

__all__ = [
    "MARKDOWN_LIMIT",
    "Redactor",
    "plan_document",
    "render_json",
    "render_markdown",
    "render_text",
]
