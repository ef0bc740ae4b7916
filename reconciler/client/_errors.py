"""HubSpot error bodies → :mod:`reconciler.errors` exceptions.

HubSpot answers errors as ``{status: "error", category, message, correlationId,
context, errors[]}`` (batch envelopes carry the same objects, without correlationId, in
their ``errors[]``). Any of these fields may be missing or null, bodies may not be JSON
at all (a proxy's HTML page), and ``context`` values may be lists or the Java-style
string ``"{missingScopes=[a, b]}"``. This module reads all of them without trusting
any, and builds one-line messages that name HubSpot's ``correlationId``.

Every text that came from outside passes through a :class:`Scrubber` that removes the
access token, so an echoing server cannot leak it into a message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import orjson

from reconciler.errors import (
    ApiError,
    AuthError,
    NotFoundError,
    RateLimitError,
    ScopeError,
    TransportError,
)

__all__ = [
    "Scrubber",
    "batch_limit",
    "correlation_id",
    "error_from_response",
    "error_texts",
    "json_body",
    "missing_scopes",
    "policy_name",
    "summarise_error",
]

SCOPE_KEYS = ("requiredGranularScopes", "requiredScopes", "missingScopes")
_SCOPE_STRING = re.compile(
    r"(requiredGranularScopes|requiredScopes|missingScopes)\s*=\s*\[([^\]]*)\]"
)
_CORRELATION_HEADER = "X-HubSpot-Correlation-Id"


class Scrubber:
    """Removes a secret (the access token) from any text before it is shown or logged."""

    __slots__ = ("_forms",)

    def __init__(self, secret: str) -> None:
        # Also the escaped spellings a repr() of the text or of its bytes would show,
        # longest first so that no part of a longer form survives a shorter one.
        forms = {
            secret,
            repr(secret)[1:-1],
            repr(secret.encode("utf-8", "backslashreplace"))[2:-1],
        }
        self._forms = tuple(sorted((f for f in forms if f), key=len, reverse=True))

    def __repr__(self) -> str:
        return "Scrubber(<redacted>)"

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, "<redacted>")
        return text


def json_body(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is empty, not JSON or not an object.

    orjson reads the common case (UTF-8, as RFC 8259 asks) a good deal faster; whatever
    it refuses (another Unicode encoding, NaN, a number beyond 64 bits) gets the standard
    library's verdict, so what is accepted is unchanged.
    """
    content = response.content
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        try:
            data = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            return None
    return data if isinstance(data, dict) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def correlation_id(body: Mapping[str, Any] | None, headers: Mapping[str, str]) -> str | None:
    """HubSpot's correlationId from the body, else from its response header."""
    if body is not None:
        found = _text(body.get("correlationId"))
        if found:
            return found
    return _text(headers.get(_CORRELATION_HEADER))


def policy_name(body: Mapping[str, Any] | None) -> str | None:
    """The rate-limit policy a 429 names (``TEN_SECONDLY_ROLLING``, ``DAILY``), if any."""
    if body is None:
        return None
    return _text(body.get("policyName"))


def _contexts(body: Mapping[str, Any]) -> Iterator[Any]:
    yield body.get("context")
    details = body.get("errors")
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, Mapping):
                yield detail.get("context")


def _split_scopes(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if item is None:
            continue
        for piece in re.split(r"[,\s]+", str(item).strip("[]{} ")):
            scope = piece.strip("[]{}\"' ")
            if scope:
                found.append(scope)
    return found


def missing_scopes(body: Mapping[str, Any] | None) -> list[str]:
    """Scopes a 403 names, from ``context`` (or an ``errors[]`` detail's context).

    Reads ``requiredGranularScopes``, ``requiredScopes`` and ``missingScopes``, whether
    the context is an object of lists or the string form ``"{missingScopes=[a, b]}"``.
    """
    if body is None:
        return []
    found: list[str] = []
    for context in _contexts(body):
        if isinstance(context, Mapping):
            for key in SCOPE_KEYS:
                found.extend(_split_scopes(context.get(key)))
        elif isinstance(context, str):
            for match in _SCOPE_STRING.finditer(context):
                found.extend(_split_scopes(match.group(2)))
    return list(dict.fromkeys(found))


# How a 400 may say that a batch was too large. HubSpot documents no wording, so the
# usual phrasings of a limit, either followed by "inputs" or the like ("at most 100 inputs")
# or in a text about a batch, its size or too many of something; a limit in any other
# error ("must be up to 19 digits") is not about the batch.
_LIMIT = (
    r"(?:at most|no more than|not (?:be )?(?:more than|exceed)|less than or equal to|"
    r"maximum(?: of| is)?|limit(?: of| is)?|up to|between \d+ and)\s+(\d+)"
)
_LIMIT_OF_INPUTS = re.compile(_LIMIT + r"\s+(?:inputs|items|elements)\b", re.IGNORECASE)
# HubSpot's own wording: "The maximum number of inputs supported in a batch request for
# this endpoint is 100".
_MAXIMUM_NUMBER = re.compile(
    r"maximum number of (?:inputs|items|elements)\b[^.\d]{0,80}?\bis\s+(\d+)", re.IGNORECASE
)
_LIMIT_ANYWHERE = re.compile(_LIMIT, re.IGNORECASE)
_ABOUT_BATCHES = re.compile(r"too many|batch|\bsize\b", re.IGNORECASE)


def batch_limit(body: Mapping[str, Any] | None) -> int | None:
    """The most inputs per call that a 400 names when it refuses a batch as too large:
    ``context.maxInputs`` (the emulator's), else the limit its message or an error
    detail states ("at most 100 inputs", "batch size must be less than or equal to
    100"). None when it says neither."""
    if body is None:
        return None
    for context in _contexts(body):
        if isinstance(context, Mapping):
            found = _split_scopes(context.get("maxInputs"))
            if found and found[0].isdigit():
                return int(found[0])
    texts = [_text(body.get("message"))]
    details = body.get("errors")
    if isinstance(details, list):
        texts += [_text(d.get("message")) for d in details if isinstance(d, Mapping)]
    for text in texts:
        if not text:
            continue
        match = _MAXIMUM_NUMBER.search(text) or _LIMIT_OF_INPUTS.search(text)
        if match is None and _ABOUT_BATCHES.search(text):
            match = _LIMIT_ANYWHERE.search(text)
        if match is not None:
            return int(match.group(1))
    return None


def summarise_error(error: Mapping[str, Any] | None, scrub: Scrubber) -> str:
    """One line for an error object: its category, message and detail messages."""
    if not error:
        return "no details given"
    category = _text(error.get("category"))
    message = _text(error.get("message"))
    details: list[str] = []
    sub = error.get("errors")
    if isinstance(sub, list):
        for detail in sub:
            if isinstance(detail, Mapping):
                text = _text(detail.get("message"))
                if text and text != message:
                    details.append(text)
    parts = [p for p in (category, message) if p]
    line = ": ".join(parts) if parts else "no details given"
    if details:
        line = f"{line} ({'; '.join(details)})"
    return scrub(line)


def error_texts(error: Mapping[str, Any]) -> str:
    """Everything an error object says, flattened, for finding which inputs it names."""
    pieces: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                pieces.append(str(key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif value is not None:
            pieces.append(str(value))

    walk(error)
    return " ".join(pieces)


def _status_label(response: httpx.Response) -> str:
    phrase = response.reason_phrase or ""
    return f"{response.status_code} {phrase}".strip()


def error_from_response(
    response: httpx.Response,
    *,
    what: str,
    scrub: Scrubber,
    attempts: int = 1,
    too_long: tuple[float, float] | None = None,
) -> ApiError:
    """The exception for an error answer to ``what`` (e.g. ``"POST /statuses/batch/read"``)."""
    body = json_body(response)
    code = response.status_code
    cid = correlation_id(body, response.headers)
    category = _text(body.get("category")) if body else None
    raw_context = body.get("context") if body else None
    context = dict(raw_context) if isinstance(raw_context, Mapping) else None
    if body is None:
        kind = "an empty body" if not response.content else "a body that is not JSON"
        detail = f"HubSpot answered {_status_label(response)} with {kind}"
    else:
        detail = f"HubSpot answered {_status_label(response)}: {summarise_error(body, scrub)}"
    retried = f" after {attempts} attempts" if attempts > 1 else ""
    common: dict[str, Any] = {
        "status_code": code,
        "category": category,
        "correlation_id": cid,
        "context": context,
    }
    if code == 401:
        return AuthError(
            f"HubSpot rejected the access token for {what}: {detail}",
            hint="check HUBSPOT_ACCESS_TOKEN or --token-file (the private app's token)",
            **common,
        )
    if code == 403:
        scopes = missing_scopes(body)
        named = ", ".join(scopes) if scopes else "HubSpot did not say which"
        if any("batch" in scope.lower() for scope in scopes):
            hint = (
                "HubSpot grants the batch scopes only to Marketing Hub Enterprise portals: "
                "use --api-mode single (or auto), or add them to the Service Key or "
                "private app and use its token"
            )
        else:
            hint = "add the scopes to the Service Key or private app and use its token"
        return ScopeError(
            f"the token lacks scopes for {what}: {named} ({detail})",
            missing_scopes=scopes,
            hint=hint,
            **common,
        )
    if code == 404:
        return NotFoundError(
            f"{what} was not found: {detail}",
            hint="check --api-url and --api-version",
            **common,
        )
    if code == 429:
        policy = policy_name(body)
        if policy == "DAILY":
            return RateLimitError(
                f"HubSpot's daily API limit is used up ({what}): {detail}",
                policy_name=policy,
                hint="wait for the daily limit to reset, or lower the number of calls",
                **common,
            )
        if too_long is not None:
            asked, budget = too_long
            return RateLimitError(
                f"HubSpot answered 429 to {what}{retried} and asked to wait {_secs(asked)}, "
                f"more than the retry budget of {_secs(budget)}: {detail}",
                policy_name=policy,
                hint="try again later; other apps may be using the portal's budget",
                **common,
            )
        return RateLimitError(
            f"HubSpot kept answering 429 to {what}{retried}: {detail}",
            policy_name=policy,
            hint="lower --rate-limit or --concurrency, or check for other apps using the budget",
            **common,
        )
    if code >= 500:
        return TransportError(
            f"{what} failed{retried}: {detail}",
            hint="HubSpot may be having trouble; try again later",
            **common,
        )
    limit = batch_limit(body) if code == 400 else None
    if limit is not None:
        return ApiError(
            f"{what} was refused: {detail}",
            hint=f"lower --batch-size (HubSpot accepts at most {limit} inputs per call)",
            **common,
        )
    return ApiError(f"{what} was refused: {detail}", **common)


def _secs(value: float) -> str:
    """Seconds for an error line: whole numbers as such, huge ones without a flood of
    digits."""
    if value >= 1e9:
        return f"{value:.3g} s"
    return f"{value:.0f} s" if value == int(value) else f"{value:.2f} s"
