"""Renderers: plans and reports to strings. No I/O; the CLI writes what they return.

* :func:`render_text` — for terminals; colour only when the caller says so.
* :func:`render_markdown` — for pull-request comments, capped below GitHub's limit.
* ``audit_*``, ``apply_report``, ``validate``, ``definitions`` — the other commands'
  reports, one module each.

The plan as JSON is the saved plan's own document: :func:`reconciler.planfile.render_json`.
"""

from reconciler.render.markdown import MARKDOWN_LIMIT, render_markdown
from reconciler.render.text import render_text

__all__ = ["MARKDOWN_LIMIT", "render_markdown", "render_text"]
