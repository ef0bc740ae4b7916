"""Bearer tokens and scopes, answered the way HubSpot answers them.

A missing or unknown token is a 401 ``INVALID_AUTHENTICATION`` with the
``X-HubSpot-Auth-Failure`` header; a token without the scopes of an operation is a 403
``MISSING_SCOPES`` whose ``context`` (and ``errors[0].context``) lists them under
``requiredGranularScopes``. Error messages never repeat the token.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.emulator.operations import ALL_SCOPES, BATCH_SCOPES, OperationSpec
from reconciler.emulator.wire import HubSpotError

__all__ = ["accepted_tokens", "authenticate", "authorize"]

_SCOPES_LINK = "https://developers.hubspot.com/scopes"


def accepted_tokens(
    seeded: Mapping[str, tuple[str, ...]],
    extra: str | None,
    default: str,
    *,
    scopes: tuple[str, ...] | None = None,
    enterprise: bool = True,
) -> dict[str, frozenset[str]]:
    """Every token the emulator accepts, with its scopes.

    The seed's tokens, plus ``extra`` (``--token``) with every scope; when neither
    names a token, the documented default token gets every scope. ``scopes``
    (``--token-scopes``) replaces the scopes of the token the emulator prints: ``extra``,
    else the seed's first, else the default. A portal below Marketing Hub Enterprise
    (``enterprise`` false) has no batch scopes to grant: every token loses them.
    """
    tokens = {token: frozenset(held) for token, held in seeded.items()}
    if extra:
        tokens[extra] = frozenset(ALL_SCOPES)
    if not tokens:
        tokens[default] = frozenset(ALL_SCOPES)
    if scopes is not None:
        printed = extra or next(iter(tokens))
        tokens[printed] = frozenset(scopes)
    if not enterprise:
        tokens = {token: held - BATCH_SCOPES for token, held in tokens.items()}
    return tokens


def _unauthenticated(message: str, failure: str) -> HubSpotError:
    return HubSpotError(
        401,
        "INVALID_AUTHENTICATION",
        message,
        headers={"X-HubSpot-Auth-Failure": failure},
    )


def authenticate(
    authorization: str | None, tokens: Mapping[str, frozenset[str]]
) -> tuple[str, frozenset[str]]:
    """The token of an ``Authorization: Bearer`` header and its scopes, or a 401."""
    if not authorization:
        raise _unauthenticated(
            "Authentication credentials not found. This API supports OAuth 2.0 and private "
            "app access tokens sent as 'Authorization: Bearer <token>'.",
            "Authentication credentials not found",
        )
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthenticated(
            "The Authorization header must be 'Bearer <token>'.",
            "Invalid authorization header",
        )
    scopes = tokens.get(token)
    if scopes is None:
        raise _unauthenticated(
            "The access token provided is invalid, expired or revoked.",
            "Invalid access token",
        )
    return token, scopes


def authorize(scopes: frozenset[str], spec: OperationSpec) -> None:
    """Pass when ``scopes`` hold every scope of one alternative of ``spec`` (or its
    granular one); else a 403."""
    if spec.allows(scopes):
        return
    required = spec.required_scopes()
    raise HubSpotError(
        403,
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. "
        f"Read more about required scopes here: {_SCOPES_LINK}.",
        context={"requiredGranularScopes": required},
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": required},
            }
        ],
        extra={"links": {"scopes": _SCOPES_LINK}},
    )
