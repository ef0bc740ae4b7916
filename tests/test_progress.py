"""The progress bar is drawn only on a terminal (not TERM=dumb), never with --quiet,
--no-progress or in CI; colour never with NO_COLOR or TERM=dumb."""

from __future__ import annotations

import io

import pytest

from reconciler.cli._common import Progress, State, use_color


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
