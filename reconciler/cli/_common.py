"""Options shared by the commands, the invocation's state, and the terminal.

:func:`api_options` declares the connection flags every command that talks to HubSpot
takes; :func:`api_settings` hands their values to
:func:`reconciler.settings.resolve_api_settings`, which applies flag > environment >
project file > default and refuses a bad token file or API URL. Whether the terminal
gets colour or a progress bar is decided here.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.client import HubSpotClient
from reconciler.settings import (
    API_VERSIONS,
    DEFAULT_API_URL,
    DEFAULT_CONCURRENCY,
    ApiSettings,
    resolve_api_settings,
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
    """A progress bar on stderr, drawn only on a TTY that is not ``TERM=dumb`` (the bar
    moves the cursor with escape codes), and never with --quiet/--no-progress or in CI.
    NO_COLOR does not hide it: it is not colour. ``advance(n)`` is safe to pass to the
    client as its ``on_progress``."""

    def __init__(self, state: State, label: str, total: int, *, stream: Any = None) -> None:
        stream = sys.stderr if stream is None else stream
        self._bar: Any = None
        visible = (
            total > 0
            and not state.quiet
            and not state.no_progress
            and not os.environ.get("CI")
            and is_terminal(stream)
        )
        if visible:
            self._bar = click.progressbar(length=total, label=label, file=stream)
            self._bar.__enter__()

    @property
    def visible(self) -> bool:
        return self._bar is not None

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


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


def run_client(
    settings: ApiSettings,
    work: Callable[[HubSpotClient], Awaitable[T]],
    *,
    on_progress: Callable[[int], None] | None = None,
) -> T:
    """Run ``work`` with a client built from ``settings`` and the test hooks of
    :class:`State`; ``on_progress`` is the client's (subscribers read)."""
    state = current_state()

    async def go() -> T:
        async with HubSpotClient.from_settings(
            settings, transport=state.transport, retry=state.retry, on_progress=on_progress
        ) as client:
            return await work(client)

    return asyncio.run(go())


def api_settings(
    options: Mapping[str, Any],
    *,
    project_api_version: str | None = None,
    batch_size: int | None = None,
) -> ApiSettings:
    """Settings from a command's :func:`api_options` values (``batch_size`` overrides the
    flag: a saved plan is applied with the batch size it was packed for)."""
    return resolve_api_settings(
        api_url=options.get("api_url"),
        api_version=options.get("api_version"),
        token_file=options.get("token_file"),
        rate_limit=options.get("rate_limit"),
        batch_size=batch_size if batch_size is not None else options.get("batch_size"),
        concurrency=options.get("concurrency"),
        project_api_version=project_api_version,
    )
