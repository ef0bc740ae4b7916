"""Options shared by the commands, and how their values are resolved.

Precedence for every setting: flag > environment > project file > default (design §4).
The token is read here, from ``--token-file`` or ``HUBSPOT_ACCESS_TOKEN``, and never
from a flag or a config file. A bad token file or API URL is refused here with one line
naming the flag (or variable) and what to do, before any request is attempted.
Whether the terminal gets colour or a progress bar is decided here too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from reconciler.client import HubSpotClient
from reconciler.errors import UsageError
from reconciler.settings import (
    API_VERSIONS,
    DEFAULT_API_URL,
    DEFAULT_API_VERSION,
    DEFAULT_CONCURRENCY,
    ApiSettings,
    check_api_url,
    check_api_version,
    check_token,
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
    """Options of every command that talks to HubSpot (design §4)."""
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


def read_token(token_file: Path | None, environ: Mapping[str, str] | None = None) -> str:
    """The token from ``--token-file`` or ``HUBSPOT_ACCESS_TOKEN``; never echoed."""
    env = os.environ if environ is None else environ
    if token_file is not None:
        try:
            # utf-8-sig: an editor's byte-order mark is not part of the token.
            token = token_file.read_text(encoding="utf-8-sig").strip()
        except OSError as exc:
            raise UsageError(
                f"cannot read token file {token_file}: {exc.strerror or exc}",
                hint="check the path given to --token-file and that you may read it",
            ) from None
        except UnicodeDecodeError:
            raise UsageError(
                f"token file {token_file} is not UTF-8 text",
                hint="save only the private app's token in it, as plain text",
            ) from None
        if not token:
            raise UsageError(
                f"token file {token_file} is empty", hint="put the private app token in it"
            )
        return check_token(token, f"token file {token_file}")
    token = env.get("HUBSPOT_ACCESS_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "no HubSpot token",
            hint="set HUBSPOT_ACCESS_TOKEN or pass --token-file FILE",
        )
    return check_token(token, "HUBSPOT_ACCESS_TOKEN")


def resolve_api_settings(
    *,
    api_url: str | None,
    api_version: str | None,
    token_file: Path | None,
    rate_limit: int | None,
    batch_size: int | None,
    concurrency: int | None,
    project_api_version: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ApiSettings:
    """Apply flag > environment > project file > default to the connection settings."""
    env = os.environ if environ is None else environ
    if api_url:
        url, source = api_url.strip(), "--api-url"
    elif env.get("HSPREFS_API_URL"):
        url, source = env["HSPREFS_API_URL"].strip(), "HSPREFS_API_URL"
    else:
        url, source = DEFAULT_API_URL, None
    check_url_shape(url, source)
    # A blank variable counts as unset; a bad value is refused naming the variable.
    if api_version:
        version, version_source = api_version, "--api-version"
    elif env.get("HSPREFS_API_VERSION", "").strip():
        version, version_source = env["HSPREFS_API_VERSION"], "HSPREFS_API_VERSION"
    else:
        version, version_source = project_api_version or DEFAULT_API_VERSION, None
    return ApiSettings(
        api_url=check_api_url(url, source),
        api_version=check_api_version(version, version_source),
        token=read_token(token_file, env),
        rate_limit=rate_limit,
        batch_size=batch_size or 100,
        concurrency=concurrency or DEFAULT_CONCURRENCY,
    )


_URL_HINT = "give a URL such as https://api.hubapi.com or http://127.0.0.1:8765"
# One DNS label (letters, digits, hyphens; underscores are seen in the wild), after IDNA.
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")


def check_url_shape(url: str, source: str | None = None) -> None:
    """Refuse an API URL that the HTTP library would fail on deep inside a request: a bad
    port, a host that is neither an IP address nor a host name, a user name or password,
    a query or a fragment. ``source`` names the flag or variable it came from.

    What :func:`~reconciler.settings.check_api_url` refuses (no scheme or host, spaces
    or control characters, plain http to a remote host) is left to it; a path is kept,
    as a prefix for a gateway in front of HubSpot.
    """
    if "://" not in url or any(ch.isspace() or not ch.isprintable() for ch in url):
        return
    named = f" in {source}" if source else ""
    netloc = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in netloc:
        # The URL is not quoted: what precedes '@' may be a password or a token.
        raise UsageError(
            f"the API URL{named} holds a user name or password",
            hint="give the URL without them; the token goes in HUBSPOT_ACCESS_TOKEN or "
            "--token-file",
        )
    invalid = f"invalid API URL {url!r}{named}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port out of range or not a number, an unclosed [
        if "port" not in str(exc).lower():
            reason = "its host is not a valid address"
            raise UsageError(f"{invalid}: {reason}", hint=_URL_HINT) from None
        port = 0
    if port == 0:
        raise UsageError(f"{invalid}: its port must be a number from 1 to 65535", hint=_URL_HINT)
    host = parts.hostname or ""
    if host and not _valid_host(host):
        raise UsageError(
            f"{invalid}: {host!r} is neither an IP address nor a host name", hint=_URL_HINT
        )
    if parts.query or parts.fragment:
        raise UsageError(
            f"{invalid}: it has a query or fragment (after '?' or '#')",
            hint="give only the base URL, such as https://api.hubapi.com",
        )


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    if re.fullmatch(r"[\d.]+", host):
        return False  # looks like IPv4 but is not (999.1.1.1)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.lower().removesuffix(".").split(".")
    return len(ascii_host) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


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
    state = current_state()
    bar = Progress(state, "Reading HubSpot", total)

    async def go() -> T:
        async with HubSpotClient.from_settings(
            settings, transport=state.transport, retry=state.retry, on_progress=bar.advance
        ) as client:
            return await work(client)

    try:
        return asyncio.run(go())
    finally:
        bar.close()


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
