"""The key reference of docs/config.md, generated from the JSON Schemas.

``render_reference()`` walks the project and subscriber schemas and writes one Markdown
table row per key, with its kind and its title and description. A test compares the
block in docs/config.md with this output, so the docs and the schemas cannot drift;
``python -m reconciler.config._reference docs/config.md`` rewrites the block.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

from reconciler.config._schema import BASE_URI, registry
from reconciler.resources import load_schema

__all__ = ["BEGIN", "END", "render_reference", "rewrite"]

BEGIN = "<!-- reference:start (generated from schemas/ by reconciler.config._reference) -->"
END = "<!-- reference:end -->"

# Names shown for the keys a user chooses (additionalProperties), by parent key.
_PLACEHOLDERS = {
    "subscriptions": "<alias>",
    "subscribers": "<email>",
    "groups": "<group>",
    "set": "<alias>",
}


def _resolve(schema: Any, base: str) -> tuple[dict[str, Any], str]:
    """Follow $ref; merge the referring schema's own keywords over the target's."""
    own = dict(schema) if isinstance(schema, dict) else {}
    while "$ref" in own:
        target = urljoin(base, own.pop("$ref"))
        contents = registry().resolver().lookup(target).contents
        base = urldefrag(target)[0]
        merged = dict(contents)
        merged.update(own)
        own = merged
    return own, base


def _kind(schema: dict[str, Any], base: str) -> str:
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        return " | ".join(f"`{v}`" for v in schema["enum"])
    if "anyOf" in schema and "type" not in schema:
        parts = []
        for branch in schema["anyOf"]:
            resolved, branch_base = _resolve(branch, base)
            if set(resolved) <= {"required"}:
                continue
            parts.append(_kind(resolved, branch_base))
        return " or ".join(p for p in parts if p)
    kind = schema.get("type")
    words = {
        "object": "mapping",
        "array": "list",
        "string": "text",
        "integer": "whole number",
        "number": "number",
        "boolean": "`true` | `false`",
    }
    text = words.get(str(kind), str(kind or ""))
    if kind == "array" and isinstance(schema.get("items"), dict):
        item, _ = _resolve(schema["items"], base)
        text = f"list of {_kind(item, base)}"
    bounds = []
    if "minimum" in schema:
        bounds.append(f"≥ {schema['minimum']}")
    if "maximum" in schema:
        bounds.append(f"≤ {schema['maximum']}")
    if "pattern" in schema:
        bounds.append("(digits)" if schema["pattern"].startswith("^[0-9]") else "(see below)")
    return f"{text} {' '.join(bounds)}".strip()


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _rows(schema: Any, base: str, path: str, out: list[str], depth: int = 0) -> None:
    resolved, base = _resolve(schema, base)
    if depth > 8:
        return
    required = set(resolved.get("required", ()))
    for key, child in resolved.get("properties", {}).items():
        _row(child, base, f"{path}{key}", out, required=key in required, depth=depth)
    extra = resolved.get("additionalProperties")
    if isinstance(extra, dict):
        parent = path.rstrip(".").rsplit(".", 1)[-1]
        name = _PLACEHOLDERS.get(parent, "<alias>")
        _row(extra, base, f"{path}{name}", out, required=False, depth=depth)


def _row(schema: Any, base: str, path: str, out: list[str], *, required: bool, depth: int) -> None:
    resolved, child_base = _resolve(schema, base)
    title = resolved.get("title", "")
    description = resolved.get("description", "")
    text = f"**{title}.** {description}" if title else description
    if required:
        text = f"Required. {text}"
    out.append(f"| `{path}` | {_cell(_kind(resolved, child_base))} | {_cell(text)} |")
    if resolved.get("type") == "object":
        _rows(resolved, child_base, f"{path}.", out, depth + 1)
        return
    for branch in resolved.get("anyOf", ()):
        option, option_base = _resolve(branch, child_base)
        if option.get("type") == "object":
            _rows(option, option_base, f"{path}.", out, depth + 1)


def render_reference() -> str:
    """The generated reference block (without the markers)."""
    lines: list[str] = []
    for name, heading in (
        ("project.schema.json", "Project file (`hsprefs.yaml`)"),
        ("subscribers.schema.json", "Subscriber file"),
    ):
        schema = load_schema(name)
        lines += [
            f"### {heading}",
            "",
            _cell(schema.get("description", "")),
            "",
            "| Key | Kind | Meaning |",
            "|---|---|---|",
        ]
        _rows(schema, BASE_URI + name, "", lines)
        lines.append("")
    return "\n".join(lines)


def rewrite(path: Path) -> bool:
    """Replace the generated block of a Markdown file; True when it changed."""
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    new = f"{head}{BEGIN}\n{render_reference()}{END}{tail}"
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    changed = rewrite(Path(sys.argv[1]))
    sys.stdout.write(("rewrote " if changed else "unchanged ") + sys.argv[1] + "\n")
