"""The audit report in a real browser: headless Chromium renders it, the DOM after its
script ran is checked (``--dump-dom``), and a screenshot is taken for a person to look at.

Run by ``make audit-browser`` (marked ``browser`` and ``slow``, so not in the default
run). Chromium comes from Debian's ``chromium`` package; without it the tests skip and
say how to install it.

The page is the demo portal's audit (two brands with names, every verdict, legal bases
on both sides, long sources). The layout check renders a copy of the page with one more
inline script, which measures whether the page or any table is wider than the window
and writes the answer into the page's title, where ``--dump-dom`` shows it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator import EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator
from tests.flow.conftest import ROOT, SEED

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = next(
    (p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None
)
SHOTS = Path(os.environ.get("HSPREFS_SCREENSHOTS", ROOT / ".hsprefs" / "screenshots"))
WIDTH = 1280

MEASURE = """<script>
(function () {
  var wide = [];
  if (document.documentElement.scrollWidth > window.innerWidth) { wide.push("page"); }
  document.querySelectorAll("table").forEach(function (t, i) {
    if (t.getBoundingClientRect().right > window.innerWidth) { wide.push("table" + i); }
    t.querySelectorAll("td,th").forEach(function (c) {
      if (c.scrollWidth > c.clientWidth + 1) { wide.push("cell in table" + i); }
    });
  });
  document.title = wide.length ? "TOO WIDE: " + wide.join(", ") : "FITS";
})();
</script>
</body>"""


def _chromium(*args: str) -> str:
    if CHROMIUM is None:
        pytest.skip(
            "no Chromium here: install Debian's package (apt-get install -y chromium) "
            "to run the browser check of the audit report"
        )
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={WIDTH},1000", "--virtual-time-budget=3000", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The demo portal's audit report, written by hsprefs audit --format html."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path / "examples")
    point_at_emulator(monkeypatch)
    app = create_app(EmulatorSettings(seed=str(SEED)))
    try:
        result = Hub(app, capsys).hsprefs("audit", "--format", "html", "-o", "audit.html")
        assert result.code == 2, result.err
        yield tmp_path / "examples" / "audit.html"
    finally:
        app.state.emulator.close()


def test_the_page_runs_its_filter(report: Path) -> None:
    """After the page's script ran, the drifted pairs are shown and the rest hidden."""
    dom = _chromium("--dump-dom", report.as_uri())
    rows = re.findall(r'<tr class="(\w+)" data-state="\w+"( hidden="")?>', dom)
    assert rows, dom[:500]
    assert {state for state, hidden in rows if not hidden} == {"drifted"}
    assert re.search(r'<span id="shown">(\d+)</span>', dom).group(1) == str(  # type: ignore[union-attr]
        sum(1 for state, _ in rows if state == "drifted")
    )
    assert 'aria-pressed="true">Drifted' in dom
    assert "Outdoor (5)" in dom and "opted out of all email from the Outdoor brand" in dom


def test_no_column_is_cut_off_at_1280_pixels(report: Path, tmp_path: Path) -> None:
    """At 1,280 px no table or cell is wider than the window; a screenshot is kept."""
    page = report.read_text(encoding="utf-8")
    # Every pair shown (the widest view), then measured.
    page = page.replace('data-initial="drifted"', 'data-initial="all"')
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", MEASURE), encoding="utf-8")
    dom = _chromium("--dump-dom", measured.as_uri())
    assert "<title>FITS</title>" in dom, re.search(r"<title>.*?</title>", dom)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "audit-1280.png"
    _chromium(f"--screenshot={shot}", report.as_uri())
    assert shot.stat().st_size > 10_000


def test_the_layout_check_can_fail(report: Path, tmp_path: Path) -> None:
    """The same measurement reports cells that do not wrap (so the check above can fail)."""
    page = report.read_text(encoding="utf-8")
    page = page.replace("</head>", "<style>#pairs td{white-space:nowrap}</style></head>")
    measured = tmp_path / "unwrapped.html"
    measured.write_text(page.replace("</body>", MEASURE), encoding="utf-8")
    assert "<title>TOO WIDE: page, cell in table2" in _chromium("--dump-dom", measured.as_uri())
