"""A pytest plugin: every answer any emulator gives in the test suite is judged.

``tests/conftest.py`` loads it for the whole suite. As it loads it makes every emulator
app record its answers: :func:`reconciler.emulator.create_app` (and so
``serve_in_thread``, and the CLI's in-process server) returns the app with the
conformance suite's :class:`~.recorder.Recording` as its outermost middleware, so what is
recorded is exactly what went on the wire, in-process or over a socket. Answers of an
emulator in another process (``hsprefs emulator serve`` as a subprocess) are handed in
with :func:`record_response` by the tests that talk to one.

After each test (and after each teardown) every answer recorded since is judged with
the conformance suite's own judge (:func:`~.openapi.judge`: the operation's response
schema, HubSpot's null-for-absent rule, the ``Error`` shape off the operations) and any
off-spec answer fails the test, naming each answer and what is wrong with it. A test
that makes the emulator answer off-spec on purpose says so with
``@pytest.mark.emulator_off_spec(reason)``.

When HubSpot's specs are not beside the checkout the answers are not judged, and the
run's summary says so in one line; otherwise that line counts the answers judged.
Imports pytest, httpx, the emulator (lazily) and the conformance suite's modules.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Generator, Mapping
from typing import Any

import httpx
import pytest

from .openapi import SPEC_VERSIONS, Exchange, Spec, judge, load_spec, specs_dir
from .recorder import Recording

__all__ = [
    "MARKER",
    "SINK",
    "Sink",
    "fail_off_spec",
    "install",
    "missing_specs_line",
    "off_spec",
    "record_response",
    "settle",
]

MARKER = "emulator_off_spec"
_COUNTED = "hsprefs_emulator_answers_judged"


class Sink(list[Exchange]):
    """The answers recorded since the last judgement (appended from any thread)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def append(self, exchange: Exchange) -> None:
        with self._lock:
            super().append(exchange)

    def take(self) -> list[Exchange]:
        """Everything recorded so far; the sink is empty afterwards."""
        with self._lock:
            taken = list(self)
            self.clear()
        return taken


SINK = Sink()
# Answers judged and the seconds spent judging them, in this process (a controller adds
# its workers' in).
_tally: dict[str, float] = {"answers": 0, "seconds": 0.0}


@functools.cache
def _specs() -> Mapping[str, Spec] | None:
    if not all((specs_dir() / v / "subscriptions.json").is_file() for v in SPEC_VERSIONS):
        return None
    return {version: load_spec(version) for version in SPEC_VERSIONS}


def missing_specs_line() -> str:
    """What the run says, once, when the specs are absent."""
    return (
        f"emulator answers: NOT judged against HubSpot's specs, which are not at "
        f"{specs_dir()} (they sit beside the checkout in .ci/run, or set HSPREFS_SPECS)"
    )


def install() -> None:
    """Make every emulator app record its answers into :data:`SINK` (idempotent)."""
    try:
        import reconciler.emulator as package
        from reconciler.emulator import app as app_module
        from reconciler.emulator import server as server_module
    except ImportError:  # the emulator's extra is not installed: nothing to judge
        return
    original = app_module.create_app
    if getattr(original, "judged", False):
        return

    @functools.wraps(original)
    def create_app(settings: Any = None) -> Any:
        app = original(settings)
        app.add_middleware(Recording, exchanges=SINK)
        return app

    create_app.judged = True  # type: ignore[attr-defined]
    for module in (package, app_module, server_module):
        module.create_app = create_app  # type: ignore[attr-defined]


def record_response(response: httpx.Response) -> None:
    """Hand in an answer of an emulator this process did not build (a subprocess's)."""
    request = response.request
    SINK.append(
        Exchange(
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode("latin-1"),
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            body=response.content,
        )
    )


def off_spec(exchanges: list[Exchange]) -> list[str]:
    """Each off-spec answer among ``exchanges``, described (none when specs are absent)."""
    specs = _specs()
    if specs is None or not exchanges:
        return []
    began = time.perf_counter()
    verdicts = [judge(e, specs) for e in exchanges]
    _tally["answers"] += len(exchanges)
    _tally["seconds"] += time.perf_counter() - began
    return [v.describe() for v in verdicts if v.problems]


def settle(item: pytest.Item) -> list[str]:
    """Judge what was recorded since the last call; the off-spec answers, described."""
    exchanges = SINK.take()
    if item.get_closest_marker(MARKER) is not None:
        return []
    return off_spec(exchanges)


def fail_off_spec(problems: list[str]) -> None:
    """Fail the running test (or teardown), listing each off-spec answer."""
    pytest.fail(
        f"{len(problems)} emulator answer(s) off HubSpot's spec:\n" + "\n".join(problems),
        pytrace=False,
    )


# Installed as soon as the plugin loads (from tests/conftest.py, before any other
# conftest or test module imports create_app and binds the name for itself).
install()


# --- hooks -------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(reason): this test makes the emulator answer off HubSpot's spec on "
        "purpose; its answers are not judged",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    try:
        result = yield
    except BaseException:
        problems = settle(item)
        if problems:
            item.add_report_section("call", "emulator answers off-spec", "\n".join(problems))
        raise
    problems = settle(item)
    if problems:
        fail_off_spec(problems)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    result = yield
    problems = settle(item)
    if problems:
        fail_off_spec(problems)
    return result


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker: hand the tally to the controller
        output[_COUNTED] = dict(_tally)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    tally = getattr(node, "workeroutput", {}).get(_COUNTED, {})
    for key in _tally:
        _tally[key] += tally.get(key, 0)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _specs() is None:
        terminalreporter.write_line(missing_specs_line())
    else:
        terminalreporter.write_line(
            f"emulator answers: {int(_tally['answers'])} judged against HubSpot's specs "
            f"({_tally['seconds']:.1f} s of judging)"
        )
