"""Options shared by the commands, the invocation's state, and the terminal.

:func:`api_options` declares the connection flags every command that talks to HubSpot
takes; :func:`api_settings` hands their values to
:func:`reconciler.settings.resolve_api_settings`, which applies flag > environment >
project file > default and refuses a bad token file or API URL. Whether the terminal
gets colour, a progress bar or progress lines is decided here.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.cli._progress_lines import ProgressLines
from reconciler.client import HubSpotClient, Retrying
from reconciler.settings import (
    API_MODES,
    API_VERSIONS,
    DEFAULT_API_URL,
    DEFAULT_CONCURRENCY,
    ApiSettings,
    resolve_api_settings,
    version_warning,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    """Per-invocation flags every command accepts."""

    debug: bool = False
    quiet: bool = False
    no_progress: bool = False
    # Tests hand in an httpx transport (e.g. ASGITransport over the emulator app);
    # None means the client opens real connections.
    transport: Any = None
    # Tests hand in a retry policy that never waits (reconciler.client.RetryPolicy).
    retry: Any = None
    # Set by commands given --redact: the error line is shown to people too, and config
    # findings and HubSpot's messages can name subscribers.
    redactor: Any = None
    # The API-version warning is shown once per run, however many settings are resolved.
    version_warned: bool = False


def _set_state(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        state = ctx.find_object(State)
        if state is not None and value:
            setattr(state, name, True)
        return value

    return callback


def common_options(func: F) -> F:
    """``--debug``, ``--quiet`` and ``--no-progress``: accepted by every command."""
    func = click.option(
        "--no-progress",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_state("no_progress"),
        help="Never draw a progress bar.",
    )(func)
    func = click.option(
        "--quiet",
        "-q",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_state("quiet"),
        help="Print only results and errors.",
    )(func)
    func = click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_state("debug"),
        help="Show tracebacks for errors.",
    )(func)
    return func


def api_options(func: F) -> F:
    """Options of every command that talks to HubSpot
    (docs/architecture.md#command-line-and-exit-codes)."""
    options = [
        click.option(
            "--api-mode",
            type=click.Choice(API_MODES, case_sensitive=False),
            default=None,
            help="auto (default: batch when the token has the batch scopes), batch or "
            "single (one call per subscriber) [HSPREFS_API_MODE].",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 64),
            default=None,
            help=f"Requests in flight at once (default {DEFAULT_CONCURRENCY}).",
        ),
        click.option(
            "--batch-size",
            type=click.IntRange(1, 1000),
            default=None,
            help="Inputs per batch call (default 100).",
        ),
        click.option(
            "--rate-limit",
            type=click.IntRange(1, 100000),
            default=None,
            help="Requests per rolling 10 s (default 100; adapts to HubSpot's headers).",
        ),
        click.option(
            "--token-file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="File holding the private app token (else HUBSPOT_ACCESS_TOKEN).",
        ),
        click.option(
            "--api-version",
            type=click.Choice(API_VERSIONS),
            default=None,
            help="API version path: 2026-03 (default), v4 or 2026-09 [HSPREFS_API_VERSION].",
        ),
        click.option(
            "--api-url",
            default=None,
            metavar="URL",
            help=f"API base URL (default {DEFAULT_API_URL}) [HSPREFS_API_URL].",
        ),
    ]
    for option in options:
        func = option(func)
    return func


def example(*lines: str) -> str:
    """A command's help epilog: the example its ``--help`` ends with, lines kept as typed
    (click leaves a paragraph that starts with ``\\b`` unwrapped)."""
    return "Example:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


# The options that tune how calls are sent: they change nothing for a command that sends
# at most one call (validate --online, definitions).
TUNING = ("rate_limit", "batch_size", "concurrency")


def hidden(*names: str) -> Callable[[F], F]:
    """Leave the options ``names`` out of a command's ``--help``; they are still accepted
    (the contract keeps them on every command) and change nothing there. Goes above the
    decorators that add those options."""

    def decorate(func: F) -> F:
        params = [p for p in getattr(func, "__click_params__", []) if p.name in names]
        if {p.name for p in params} != set(names):
            raise TypeError(f"hidden(): no such options {sorted(names)} below it")
        for param in params:
            assert isinstance(param, click.Option)
            param.hidden = True
        return func

    return decorate


def is_terminal(stream: Any, environ: Mapping[str, str] | None = None) -> bool:
    """A TTY that understands escape codes: ``TERM=dumb`` says it does not."""
    env = os.environ if environ is None else environ
    if env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def use_color(stream: Any, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal that is not ``TERM=dumb``, and never when NO_COLOR is
    set (https://no-color.org)."""
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env:
        return False
    return is_terminal(stream, env)


class Progress:
    """Progress on stderr, never with --quiet/--no-progress. On a TTY that is not
    ``TERM=dumb``, outside CI, a bar (it moves the cursor with escape codes); anywhere
    else (a CI log, a pipe) one line per 10% or per 30 s, once the operation has run a
    few seconds (:class:`~reconciler.cli._progress_lines.ProgressLines`). NO_COLOR does
    not hide it: it is not colour. ``advance(n)`` is safe to pass to the client as its
    ``on_progress``; ``line_options`` go to the line printer (tests set its clock)."""

    def __init__(
        self, state: State, label: str, total: int, *, stream: Any = None, **line_options: Any
    ) -> None:
        stream = sys.stderr if stream is None else stream
        self._bar: Any = None
        self._lines: ProgressLines | None = None
        if total <= 0 or state.quiet or state.no_progress:
            return
        if not os.environ.get("CI") and is_terminal(stream):
            self._bar = click.progressbar(length=total, label=label, file=stream)
            self._bar.__enter__()
        else:
            self._lines = ProgressLines(label, total, stream, **line_options)

    @property
    def visible(self) -> bool:
        """Whether a bar is drawn (line progress is not a bar)."""
        return self._bar is not None

    @property
    def lines(self) -> bool:
        """Whether progress is printed as lines."""
        return self._lines is not None

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)
        elif self._lines is not None:
            self._lines.advance(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        if self._lines is not None:
            self._lines.close()
            self._lines = None


def current_state() -> State:
    """The invocation's :class:`State` (set up by the group)."""
    state = click.get_current_context().find_object(State)
    return state if state is not None else State()


T = TypeVar("T")


def with_client(
    settings: ApiSettings,
    total: int,
    work: Callable[[HubSpotClient], Awaitable[T]],
) -> T:
    """Run ``work`` with a client built from ``settings`` (and the test hooks of
    :class:`State`), drawing a progress bar over ``total`` subscribers read."""
    bar = Progress(current_state(), "Reading HubSpot", total)
    try:
        return run_client(settings, work, on_progress=bar.advance)
    finally:
        bar.close()


class RetryNotices:
    """The client's ``on_retry``: one line on stderr per wave of retries, never with
    --quiet. The calls of a wave fail alike (twenty reads answered 503 at once), so a
    notice just like the one before it is not repeated; the next attempt, another
    reason or another call is a new line. The notice names no address and no token."""

    def __init__(self, state: State, *, stream: Any = None) -> None:
        self._quiet = state.quiet
        self._stream = stream
        self._last: tuple[str, str, int] | None = None

    def __call__(self, notice: Retrying) -> None:
        key = (notice.request, notice.reason, notice.attempt)
        if self._quiet or key == self._last:
            return
        self._last = key
        stream = sys.stderr if self._stream is None else self._stream
        # On a terminal a progress bar may be drawn on the current line: clear it first
        # (the bar draws itself again below).
        clear = "\r\x1b[K" if not os.environ.get("CI") and is_terminal(stream) else ""
        click.echo(f"{clear}hsprefs: {notice.line()}", file=stream)


def run_client(
    settings: ApiSettings,
    work: Callable[[HubSpotClient], Awaitable[T]],
    *,
    on_progress: Callable[[int], None] | None = None,
) -> T:
    """Run ``work`` with a client built from ``settings`` and the test hooks of
    :class:`State`; ``on_progress`` is the client's (subscribers read). Retries are
    told on stderr (:class:`RetryNotices`)."""
    state = current_state()

    async def go() -> T:
        async with HubSpotClient.from_settings(
            settings,
            transport=state.transport,
            retry=state.retry,
            on_progress=on_progress,
            on_retry=RetryNotices(state),
        ) as client:
            return await work(client)

    return asyncio.run(go())


def api_settings(
    options: Mapping[str, Any],
    *,
    project_api_version: str | None = None,
    project_api_mode: str | None = None,
    batch_size: int | None = None,
) -> ApiSettings:
    """Settings from a command's :func:`api_options` values (``batch_size`` overrides the
    flag: a saved plan is applied with the batch size it was packed for).

    Warns once per run, on stderr, when the API version is near or past the end of
    HubSpot's support for it."""
    settings = resolve_api_settings(
        api_url=options.get("api_url"),
        api_version=options.get("api_version"),
        token_file=options.get("token_file"),
        rate_limit=options.get("rate_limit"),
        batch_size=batch_size if batch_size is not None else options.get("batch_size"),
        concurrency=options.get("concurrency"),
        project_api_version=project_api_version,
        api_mode=options.get("api_mode"),
        project_api_mode=project_api_mode,
    )
    state = current_state()
    warning = version_warning(settings.api_version, today())
    if warning is not None and not state.version_warned:
        state.version_warned = True
        click.echo(warning, err=True)
    return settings


def today() -> datetime.date:
    """Today's date in UTC (the API-version warning's clock; tests replace it)."""
    return datetime.datetime.now(datetime.UTC).date()
