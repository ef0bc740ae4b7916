"""Connection settings shared by the client and the CLI (no I/O here).

:class:`ApiSettings` is what the CLI resolves from flags, environment, project file and
defaults, and what :mod:`reconciler.client` is built from. Its ``repr`` hides the token.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.errors import UsageError

__all__ = [
    "API_VERSIONS",
    "DEFAULT_API_URL",
    "DEFAULT_API_VERSION",
    "DEFAULT_CONCURRENCY",
    "ApiSettings",
    "check_api_url",
    "check_api_version",
    "check_token",
]

DEFAULT_API_URL = "https://api.hubapi.com"
DEFAULT_API_VERSION = "2026-03"
# Requests in flight at once. HubSpot's budget is 190 per 10 s (19 a second); to use it
# all, concurrency / round trip must stay above that: 32 covers round trips up to about
# 1.6 s, where 8 would stop at about 400 ms.
DEFAULT_CONCURRENCY = 32
API_VERSIONS = ("2026-03", "v4", "2026-09")
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

    def __repr__(self) -> str:
        return (
            f"ApiSettings(api_url={self.api_url!r}, api_version={self.api_version!r}, "
            f"token=<redacted>, rate_limit={self.rate_limit}, batch_size={self.batch_size}, "
            f"concurrency={self.concurrency})"
        )


def check_api_url(url: str, source: str | None = None) -> str:
    """Accept https anywhere and plain http only to loopback addresses.

    ``source`` names where the value came from (``--api-url``, ``HSPREFS_API_URL``) so
    that a refusal says which setting to fix. Whitespace around the URL (a stray space
    or line end in an environment variable) is removed; whitespace or a control
    character inside it is refused, before the HTTP library trips over it.
    """
    url = url.strip()
    named = f" in {source}" if source else ""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UsageError(
            f"the API URL{named} holds a space or a control character",
            hint="give a URL such as https://api.hubapi.com, without spaces",
        )
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
