"""The progress bar is drawn only on a terminal, never with --quiet, --no-progress or in CI."""

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
