"""The one exception tree of hsprefs.

Every error the package raises on purpose derives from :class:`HsprefsError`. The CLI
turns any of them into one line on stderr and exit code 1; nothing else decides exit
codes. Third-party exceptions are translated at the boundary with ``raise ... from``.

::

    HsprefsError                  message + optional hint ("what to do")
    ├── UsageError                bad flags or arguments not caught by click
    ├── ConfigError               config files are invalid (carries every finding)
    ├── PlanFileError             a saved plan is unreadable, tampered or for another target
    ├── StalePlanError            live state moved since the plan was made
    ├── PortalMismatchError       the token belongs to another portal than portal.id
    ├── PolicyError               the mass-change guard refused an apply
    ├── ApplyError                an apply was cancelled, or ended with changes not applied
    └── ApiError                  HubSpot answered with an error (status, category, correlationId)
        ├── AuthError             401: token missing, invalid or expired
        ├── ScopeError            403: the token lacks scopes (named in ``missing_scopes``)
        ├── NotFoundError         404
        ├── RateLimitError        429 that is not worth retrying (daily cap) or retries ran out
        └── TransportError        no usable answer: network failures, timeouts, 5xx after retries

Messages never contain the access token: the client never puts it in one, and
:func:`scrub` is applied to text that came from outside before it is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiError",
    "ApplyError",
    "AuthError",
    "ConfigError",
    "Finding",
    "HsprefsError",
    "NotFoundError",
    "PlanFileError",
    "PolicyError",
    "PortalMismatchError",
    "RateLimitError",
    "ScopeError",
    "StalePlanError",
    "TransportError",
    "UsageError",
]


class HsprefsError(Exception):
    """Base of every error hsprefs raises on purpose.

    ``message`` says what went wrong; ``hint`` (optional) says what to do about it.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The single line the CLI prints for this error."""
        text = self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return " ".join(text.split())


class UsageError(HsprefsError):
    """Flags or arguments that do not make sense together."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a config file, at a 1-based ``file:line:column``."""

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"
    code: str = field(default="invalid")

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"


class ConfigError(HsprefsError):
    """The config is invalid; ``findings`` holds every problem found in one run."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        first = str(self.findings[0]) if self.findings else "invalid configuration"
        more = len(self.findings) - 1
        suffix = f" (and {more} more; run 'hsprefs validate' to see all)" if more > 0 else ""
        super().__init__(first + suffix)


class PlanFileError(HsprefsError):
    """A saved plan file cannot be used: unreadable, tampered with or for another target."""


class StalePlanError(HsprefsError):
    """Live statuses changed after the plan was computed."""


class PortalMismatchError(HsprefsError):
    """The token belongs to another HubSpot portal than the project's ``portal.id``."""


class PolicyError(HsprefsError):
    """The mass-change guard refused to apply."""


class ApplyError(HsprefsError):
    """An apply was cancelled, or ended with changes that did not reach their desired
    state: some failed, are unconfirmed or were not sent, or HubSpot's refusal or a
    failed journal write stopped it. ``report`` is the
    :class:`reconciler.outcome.ApplyReport` of a run that sent anything (None when it was
    cancelled before), saying what became of every change."""

    def __init__(self, message: str, *, hint: str | None = None, report: Any = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report


class ApiError(HsprefsError):
    """HubSpot answered with an error.

    ``status_code`` is the HTTP status (0 when there was no answer), ``category`` and
    ``correlation_id`` come from HubSpot's error body when it had them. ``unread`` is
    set by a partial read: the ``(brand, email)`` of every subscriber that was not read,
    sorted, so that a caller knows exactly which need attention (the message gives only
    their number: it is shown to people, and emails there would defeat ``--redact``).
    ``may_have_applied`` is set by the client when an earlier attempt of the same call
    (a 5xx, a timeout, a dropped connection) may have reached HubSpot and been acted on:
    a refusal of a later retry then does not mean that nothing was applied.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 0,
        category: str | None = None,
        correlation_id: str | None = None,
        context: dict[str, Any] | None = None,
        hint: str | None = None,
        unread: Sequence[tuple[int, str]] = (),
        may_have_applied: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.category = category
        self.correlation_id = correlation_id
        self.context = context or {}
        self.unread = tuple(sorted(unread))
        self.may_have_applied = may_have_applied

    def one_line(self) -> str:
        text = super().one_line()
        if self.correlation_id:
            text = f"{text} [correlationId {self.correlation_id}]"
        return text


class AuthError(ApiError):
    """401: the token is missing, invalid or expired."""


class ScopeError(ApiError):
    """403: the token lacks the scopes named in ``missing_scopes``."""

    def __init__(self, message: str, *, missing_scopes: Sequence[str] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.missing_scopes = tuple(missing_scopes)


class NotFoundError(ApiError):
    """404: the path or the object does not exist."""


class RateLimitError(ApiError):
    """429 that will not be retried (the daily cap) or whose retries ran out."""

    def __init__(self, message: str, *, policy_name: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.policy_name = policy_name


class TransportError(ApiError):
    """No usable answer from HubSpot: network failure, timeout or 5xx after retries.

    ``never_connected`` is set when no attempt of the call got a connection (HubSpot is
    unreachable): nothing was carried, so its inputs were not sent.
    """

    never_connected: bool = False
