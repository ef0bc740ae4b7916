"""The progress bar is drawn only on a terminal (not TERM=dumb), never with --quiet,
--no-progress or in CI; elsewhere progress is one line per 10% or 30 s once a run has
lasted a few seconds; colour never with NO_COLOR or TERM=dumb."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from reconciler.cli import _progress_lines as progress_lines
from reconciler.cli._common import Progress, State, use_color
from reconciler.emulator import EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Tty:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")  # whatever terminal the suite runs in
    return Tty()


def test_bar_on_a_terminal(stderr: Tty) -> None:
    """On a TTY the bar is drawn and reaches its total."""
    bar = Progress(State(), "Reading HubSpot", 10, stream=stderr)
    assert bar.visible
    bar.advance(10)
    bar.close()
    assert not bar.visible
    assert "Reading HubSpot" in stderr.getvalue()
    assert "100%" in stderr.getvalue()


@pytest.mark.parametrize("state", [State(quiet=True), State(no_progress=True)])
def test_no_bar_when_asked_not_to(stderr: Tty, state: State) -> None:
    """--quiet and --no-progress suppress the bar."""
    bar = Progress(state, "Reading HubSpot", 10, stream=stderr)
    bar.advance(10)
    assert not bar.visible
    bar.close()
    assert stderr.getvalue() == ""


def test_no_bar_in_ci(stderr: Tty, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI logs never get a bar."""
    monkeypatch.setenv("CI", "true")
    bar = Progress(State(), "Reading HubSpot", 10, stream=stderr)
    bar.advance(10)
    assert not bar.visible
    bar.close()
    assert stderr.getvalue() == ""


def test_no_bar_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped stderr gets no bar."""
    stream = io.StringIO()
    monkeypatch.delenv("CI", raising=False)
    bar = Progress(State(), "Reading HubSpot", 10, stream=stream)
    bar.advance(10)
    assert not bar.visible
    bar.close()
    assert stream.getvalue() == ""


def test_colour_rules() -> None:
    """Colour only on a TTY, and never with NO_COLOR."""
    assert use_color(Tty(), {}) is True
    assert use_color(Tty(), {"NO_COLOR": "1"}) is False
    assert use_color(io.StringIO(), {}) is False


def test_no_colour_on_a_dumb_terminal() -> None:
    """TERM=dumb is a terminal that understands no escape codes: no colour."""
    assert use_color(Tty(), {"TERM": "dumb"}) is False
    assert use_color(Tty(), {"TERM": "xterm-256color"}) is True


def test_no_bar_on_a_dumb_terminal(stderr: Tty, monkeypatch: pytest.MonkeyPatch) -> None:
    """TERM=dumb gets no bar: drawing it means cursor codes a dumb terminal prints raw."""
    monkeypatch.setenv("TERM", "dumb")
    bar = Progress(State(), "Reading HubSpot", 10, stream=stderr)
    bar.advance(10)
    assert not bar.visible
    bar.close()
    assert stderr.getvalue() == ""


def test_no_color_keeps_the_bar(stderr: Tty, monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR turns colour off, not the progress bar (it has no colour)."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm")
    bar = Progress(State(), "Reading HubSpot", 10, stream=stderr)
    assert bar.visible
    bar.close()
    assert use_color(stderr) is False


# -- progress lines, where there is no terminal ------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lines_every_tenth_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A piped stderr gets one line each time another 10% is done."""
    monkeypatch.delenv("CI", raising=False)
    stream, clock = io.StringIO(), Clock()
    bar = Progress(State(), "Reading HubSpot", 200, stream=stream, clock=clock, grace=0)
    assert bar.lines and not bar.visible
    for _ in range(20):
        clock.now += 3
        bar.advance(10)
    bar.close()
    assert (
        stream.getvalue()
        == "".join(
            f"Reading HubSpot: {n * 20} of 200 ({n * 10}%) after {n * 6} s\n" for n in range(1, 10)
        )
        + "Reading HubSpot: 200 of 200 (100%) after 1m00s\n"
    )


def test_lines_in_ci_even_on_a_terminal(stderr: Tty, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI gets lines, never a bar, whatever its stderr claims to be."""
    monkeypatch.setenv("CI", "true")
    bar = Progress(State(), "Applying", 4, stream=stderr, grace=0)
    bar.advance(4)
    bar.close()
    assert stderr.getvalue() == "Applying: 4 of 4 (100%) after 0 s\n"


@pytest.mark.parametrize("state", [State(quiet=True), State(no_progress=True)])
def test_no_lines_when_asked_not_to(state: State) -> None:
    """--quiet and --no-progress silence the lines too."""
    stream = io.StringIO()
    bar = Progress(state, "Reading HubSpot", 10, stream=stream, grace=0)
    assert not bar.lines
    bar.advance(10)
    bar.close()
    assert stream.getvalue() == ""


def test_no_lines_for_a_short_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the first seconds nothing is printed; after them the next tenth is."""
    monkeypatch.delenv("CI", raising=False)
    stream, clock = io.StringIO(), Clock()
    bar = Progress(State(), "Reading HubSpot", 10, stream=stream, clock=clock)
    clock.now += 4.9
    bar.advance(5)
    assert stream.getvalue() == ""
    clock.now += 0.1
    bar.advance(1)
    bar.close()
    assert stream.getvalue() == "Reading HubSpot: 6 of 10 (60%) after 5 s\n"


def test_a_line_every_30_s_while_nothing_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long wait (a rate limit) still prints a line every 30 s."""
    monkeypatch.delenv("CI", raising=False)
    stream, clock = io.StringIO(), Clock()
    bar = Progress(State(), "Applying", 100, stream=stream, clock=clock, poll=0.001)
    clock.now += 29
    time.sleep(0.05)
    assert stream.getvalue() == ""
    clock.now += 61
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.005)
    bar.close()
    assert stream.getvalue() == "Applying: 0 of 100 (0%) after 1m30s\n"


def test_plan_prints_progress_lines_in_ci(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """hsprefs plan with stderr in a log: progress lines on stderr, stdout the plan."""
    monkeypatch.setattr(progress_lines, "GRACE", 0.0)
    point_at_emulator(monkeypatch)
    monkeypatch.setenv("CI", "true")
    app = create_app(EmulatorSettings(seed=str(EXAMPLES / "emulator-seed.yaml"), rate_limit=0))
    try:
        hub = Hub(app, capsys)
        shown = hub.hsprefs("plan", str(EXAMPLES))
        quiet = hub.hsprefs("plan", str(EXAMPLES), "--no-progress")
    finally:
        app.state.emulator.close()
    assert shown.code == 0
    assert shown.err.endswith("Reading HubSpot: 11 of 11 (100%) after 0 s\n")
    assert shown.out.startswith("Plan: ")
    assert quiet.err == ""
