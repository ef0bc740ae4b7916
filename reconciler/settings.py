"""Connection settings: what the client is built from, and how they are resolved.

:func:`resolve_api_settings` applies flag > environment > project file > default to
the API URL, the API version, the token and the client's limits, and returns an
:class:`ApiSettings` (whose ``repr`` hides the token). The token comes from
``--token-file`` or ``HUBSPOT_ACCESS_TOKEN`` (:func:`read_token`), never from a flag or
a config file. Every refusal is one line naming the flag or variable and what to do,
made before any request is attempted: :func:`check_api_url` for the URL,
:func:`check_api_version` and :func:`check_token`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from reconciler.errors import UsageError

__all__ = [
    "API_MODES",
    "API_VERSIONS",
    "API_VERSION_SUPPORT",
    "DEFAULT_API_URL",
    "DEFAULT_API_VERSION",
    "DEFAULT_CONCURRENCY",
    "ApiSettings",
    "check_api_mode",
    "check_api_url",
    "check_api_version",
    "check_token",
    "read_token",
    "resolve_api_settings",
    "version_warning",
]

DEFAULT_API_URL = "https://api.hubapi.com"
DEFAULT_API_VERSION = "2026-03"
# Requests in flight at once. HubSpot's budget is 190 per 10 s (19 a second); to use it
# all, concurrency / round trip must stay above that: 32 covers round trips up to about
# 1.6 s, where 8 would stop at about 400 ms.
DEFAULT_CONCURRENCY = 32
API_VERSIONS = ("2026-03", "v4", "2026-09")
# How hsprefs talks to HubSpot (docs/client.md#api-modes): "batch" needs the batch scopes
# (Marketing Hub Enterprise), "single" uses the per-subscriber endpoints every portal
# has, "auto" picks batch when the token allows it.
API_MODES = ("auto", "batch", "single")
DEFAULT_API_MODE = "auto"
# When each API version was released and until when HubSpot supports it. HubSpot ships a
# date version every March and September and supports each for 18 months; v4 must be
# left before 30 March 2027. HubSpot names no day for 2026-03, so the first of the month
# is taken: the earlier end, so the warning never comes late.
API_VERSION_SUPPORT: dict[str, tuple[date, date]] = {
    "v4": (date(2024, 1, 1), date(2027, 3, 30)),
    "2026-03": (date(2026, 3, 1), date(2027, 9, 1)),
    "2026-09": (date(2026, 9, 8), date(2028, 3, 8)),
}
# A version this close to its end (or past it) is warned about once per run.
VERSION_WARNING_DAYS = 90
# A bearer token travels in an HTTP header: printable ASCII without spaces. HubSpot's
# private app tokens ("pat-na1-...") are far inside that.
_TOKEN = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Resolved connection settings. ``repr`` never shows the token."""

    api_url: str
    api_version: str
    token: str
    rate_limit: int | None
    batch_size: int = 100
    concurrency: int = DEFAULT_CONCURRENCY
    api_mode: str = DEFAULT_API_MODE

    def __repr__(self) -> str:
        return (
            f"ApiSettings(api_url={self.api_url!r}, api_version={self.api_version!r}, "
            f"token=<redacted>, rate_limit={self.rate_limit}, batch_size={self.batch_size}, "
            f"concurrency={self.concurrency}, api_mode={self.api_mode!r})"
        )


def check_api_url(url: str, source: str | None = None) -> str:
    """The API base URL, or a :class:`UsageError` naming ``source`` (``--api-url``,
    ``HSPREFS_API_URL``), the setting to fix.

    Accepts https anywhere and plain http only to loopback addresses. Whitespace around
    the URL (a stray space or line end in an environment variable) is removed; refused,
    before the HTTP library trips over them deep inside a request: whitespace or a
    control character inside it, a bad port, a host that is neither an IP address nor a
    host name, a user name or password, a query or a fragment. A path is kept, as a
    prefix for a gateway in front of HubSpot; a trailing ``/`` is dropped.
    """
    url = url.strip()
    named = f" in {source}" if source else ""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UsageError(
            f"the API URL{named} holds a space or a control character",
            hint="give a URL such as https://api.hubapi.com, without spaces",
        )
    if "://" in url:
        _check_shape(url, named)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and _is_loopback(host):
        return url.rstrip("/")
    if parts.scheme == "http":
        raise UsageError(
            f"refusing plain http:// to {host or url!r}{named}",
            hint="use https://, or http:// only to a loopback address such as 127.0.0.1",
        )
    raise UsageError(
        f"invalid API URL {url!r}{named}", hint="give a URL such as https://api.hubapi.com"
    )


def check_api_version(version: str, source: str | None = None) -> str:
    """One of :data:`API_VERSIONS` (surrounding whitespace removed), else a
    :class:`UsageError` naming ``source``, the flag or variable the value came from."""
    cleaned = version.strip()
    if cleaned in API_VERSIONS:
        return cleaned
    named = f" in {source}" if source else ""
    hint = f"use one of {', '.join(API_VERSIONS)}"
    if source is not None and not source.startswith("-"):
        hint = f"set {source} to one of {', '.join(API_VERSIONS)}, or unset it"
    raise UsageError(f"unsupported API version {version!r}{named}", hint=hint)


def check_api_mode(mode: str, source: str | None = None) -> str:
    """One of :data:`API_MODES` (case and surrounding whitespace ignored), else a
    :class:`UsageError` naming ``source``, the flag or variable the value came from."""
    cleaned = mode.strip().lower()
    if cleaned in API_MODES:
        return cleaned
    named = f" in {source}" if source else ""
    hint = f"use one of {', '.join(API_MODES)}"
    if source is not None and not source.startswith("-"):
        hint = f"set {source} to one of {', '.join(API_MODES)}, or unset it"
    raise UsageError(f"unknown API mode {mode!r}{named}", hint=hint)


def version_warning(version: str, today: date) -> str | None:
    """The warning for an API version within :data:`VERSION_WARNING_DAYS` of the end of
    HubSpot's support for it, or past it; None otherwise."""
    support = API_VERSION_SUPPORT.get(version)
    if support is None:
        return None
    end = support[1]
    if today >= end:
        return (
            f"warning: HubSpot's support for API version {version} ended on {end.isoformat()}; "
            f"use --api-version {_newest_version()}"
        )
    if end - today <= timedelta(days=VERSION_WARNING_DAYS):
        left = (end - today).days
        return (
            f"warning: HubSpot supports API version {version} until {end.isoformat()} "
            f"({left} {'day' if left == 1 else 'days'} left); move to --api-version "
            f"{_newest_version()}"
        )
    return None


def _newest_version() -> str:
    return max(API_VERSION_SUPPORT, key=lambda v: API_VERSION_SUPPORT[v][0])


def _is_loopback(host: str) -> bool:
    # "127.example.com" is a name anyone can point anywhere: only "localhost" and
    # loopback IP literals (127.0.0.0/8, ::1) count.
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_token(token: str, source: str) -> str:
    """Refuse a token that cannot be a bearer token, without ever quoting it.

    A token with a line break, a space or a non-ASCII character would make the HTTP
    library fail with a message that quotes the header, token included; so it is
    refused here, before anything is sent. ``source`` names where it came from.
    """
    if not _TOKEN.fullmatch(token):
        raise UsageError(
            f"the token in {source} is not a valid access token: it holds spaces, line "
            "breaks, control or non-ASCII characters",
            hint="copy the private app's access token again; it is a single word",
        )
    return token


_URL_HINT = "give a URL such as https://api.hubapi.com or http://127.0.0.1:8765"
# One DNS label (letters, digits, hyphens; underscores are seen in the wild), after IDNA.
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")


def _check_shape(url: str, named: str) -> None:
    """Refuse what the HTTP library would fail on: a user name or password, a bad port or
    host, a query or a fragment (``url`` has a scheme, and no space or control character).
    """
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
    api_mode: str | None = None,
    project_api_mode: str | None = None,
) -> ApiSettings:
    """Apply flag > environment > project file > default to the connection settings."""
    env = os.environ if environ is None else environ
    if api_url:
        url, source = api_url.strip(), "--api-url"
    elif env.get("HSPREFS_API_URL"):
        url, source = env["HSPREFS_API_URL"].strip(), "HSPREFS_API_URL"
    else:
        url, source = DEFAULT_API_URL, None
    # A blank variable counts as unset; a bad value is refused naming the variable.
    if api_version:
        version, version_source = api_version, "--api-version"
    elif env.get("HSPREFS_API_VERSION", "").strip():
        version, version_source = env["HSPREFS_API_VERSION"], "HSPREFS_API_VERSION"
    else:
        version, version_source = project_api_version or DEFAULT_API_VERSION, None
    if api_mode:
        mode, mode_source = api_mode, "--api-mode"
    elif env.get("HSPREFS_API_MODE", "").strip():
        mode, mode_source = env["HSPREFS_API_MODE"], "HSPREFS_API_MODE"
    else:
        mode, mode_source = project_api_mode or DEFAULT_API_MODE, None
    return ApiSettings(
        api_url=check_api_url(url, source),
        api_version=check_api_version(version, version_source),
        token=read_token(token_file, env),
        rate_limit=rate_limit,
        batch_size=batch_size or 100,
        concurrency=concurrency or DEFAULT_CONCURRENCY,
        api_mode=check_api_mode(mode, mode_source),
    )
