"""The HTML report's inline filter, run in Node.js over a minimal stand-in for the page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from reconciler.render.audit_html import render_audit_html
from tests.commands.test_audit_report import CREATED, every_verdict

NODE = shutil.which("node")

HARNESS = """
const page = JSON.parse(process.argv[1]);
const rows = page.states.map((s) => ({ dataset: { state: s }, hidden: false }));
const buttons = page.filters.map((f) => ({
  dataset: { filter: f }, attrs: {}, listeners: [],
  setAttribute(k, v) { this.attrs[k] = v; },
  addEventListener(_e, fn) { this.listeners.push(fn); },
}));
const shown = { textContent: "" };
globalThis.document = {
  querySelectorAll: (sel) => (sel === ".filters button" ? buttons : rows),
  querySelector: () => ({ dataset: { initial: page.initial } }),
  getElementById: () => shown,
};
const views = [];
function look(name) {
  views.push({
    name, shown: shown.textContent,
    visible: rows.filter((r) => !r.hidden).map((r) => r.dataset.state),
    pressed: buttons.filter((b) => b.attrs["aria-pressed"] === "true").map((b) => b.dataset.filter),
  });
}
eval(page.script);
look("initial");
for (const b of buttons) { b.listeners.forEach((fn) => fn()); look(b.dataset.filter); }
console.log(JSON.stringify(views));
"""


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.states: list[str] = []
        self.filters: list[str] = []
        self.initial = ""
        self.script = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr" and values.get("data-state"):
            self.states.append(values["data-state"] or "")
        if tag == "button" and values.get("data-filter"):
            self.filters.append(values["data-filter"] or "")
        if tag == "p" and values.get("data-initial"):
            self.initial = values["data-initial"] or ""
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script += data


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_filter_buttons_show_one_verdict_at_a_time() -> None:
    """The page opens on the drifted rows; each button shows its verdict and counts them."""
    page = _Page()
    page.feed(render_audit_html(every_verdict(), created_at=CREATED))
    assert NODE is not None
    document = {"states": page.states, "filters": page.filters, "initial": page.initial}
    document["script"] = page.script
    done = subprocess.run(
        [NODE, "-e", HARNESS, json.dumps(document)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    views = {v["name"]: v for v in json.loads(done.stdout)}
    assert views["initial"] == {
        "name": "initial",
        "shown": "3",
        "visible": ["drifted", "drifted", "drifted"],
        "pressed": ["drifted"],
    }
    assert views["blocked"]["visible"] == ["blocked", "blocked"]
    assert views["in_sync"]["shown"] == "4"
    assert views["all"]["visible"] == page.states
    assert [v["pressed"] for v in views.values()] == [
        ["drifted"],
        ["all"],
        ["drifted"],
        ["blocked"],
        ["in_sync"],
    ]
    assert re.fullmatch(r"\s*", done.stderr)
