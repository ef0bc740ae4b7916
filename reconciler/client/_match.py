"""Batch answers → one :class:`~reconciler.model.WriteResult` per input, in input order.

An input is CONFIRMED when it is listed in ``results[]`` of a COMPLETE envelope, FAILED
when an error in ``errors[]`` names it (its email, and its subscription id when the
subscriber has several inputs in the batch), and UNCONFIRMED otherwise: absent from the
results, or the envelope was not final. HubSpot's error objects do not reliably name
their input, so UNCONFIRMED is common and honest; apply verifies by reading back.
It also holds the outgoing side of a write: :func:`write_input` builds the wire input,
and the results of a call that failed or stopped as a whole (:func:`whole_call_failed`,
:func:`not_retried`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.client._errors import Scrubber, error_texts, summarise_error
from reconciler.client._parse import (
    Envelope,
    ShapeError,
    WrittenStatus,
    id_pattern,
    mentioned,
    normalise_id,
    parse_written_status,
)
from reconciler.errors import ApiError, UsageError
from reconciler.model import (
    LiveStatus,
    Outcome,
    StatusWrite,
    SubscriberKey,
    WriteResult,
    normalise_email,
)

__all__ = [
    "EARLIER_ATTEMPT",
    "match_opt_outs",
    "match_writes",
    "norm_key",
    "not_retried",
    "retarget",
    "whole_call_failed",
    "write_input",
]

log = logging.getLogger("reconciler.client")

# Leads the error of an input whose call may have been applied by an attempt before the
# one that failed or was stopped: the input is UNCONFIRMED and the read-back decides.
EARLIER_ATTEMPT = "may have been applied by an earlier attempt"


@dataclass(frozen=True, slots=True)
class _Error:
    text: str  # everything the error says, for finding names in it
    line: str  # what we show


def _errors(envelope: Envelope, scrub: Scrubber) -> list[_Error]:
    return [_Error(error_texts(e), summarise_error(e, scrub)) for e in envelope.errors]


def _mentions(errors: Sequence[_Error], emails: Iterable[str]) -> list[set[str]]:
    """For each error, the inputs' (normalised) addresses it names."""
    return mentioned([error.text for error in errors], emails)


def _not_final(envelope: Envelope) -> str:
    return f"HubSpot answered {envelope.status}: the results are not final"


def _unnamed(envelope: Envelope, errors: Sequence[_Error], named_any: Sequence[bool]) -> str:
    if not envelope.complete:
        return _not_final(envelope)
    loose = [error.line for error, named in zip(errors, named_any, strict=True) if not named]
    if len(loose) == 1:
        return loose[0]
    if loose:
        return f"{loose[0]} (and {len(loose) - 1} more errors that name no input)"
    if envelope.num_errors and not errors:
        return f"HubSpot reported {envelope.num_errors} errors without details"
    return "not listed in HubSpot's results"


def match_writes(
    chunk: Sequence[StatusWrite],
    envelope: Envelope,
    *,
    correlation_id: str | None,
    scrub: Scrubber,
) -> list[WriteResult]:
    """Per-input results of one ``statuses/batch/write`` answer."""
    by_key: dict[tuple[str, str], StatusWrite] = {}
    per_email: dict[str, int] = {}
    for write in chunk:
        email = normalise_email(write.email)
        by_key.setdefault((email, normalise_id(write.subscription_id)), write)
        per_email[email] = per_email.get(email, 0) + 1
    written: dict[tuple[str, str], WrittenStatus] = {}
    if envelope.complete:
        for raw in envelope.results:
            found = _written(raw, by_key)
            if found is not None:
                written[(found.status.key.email, found.status.key.subscription_id)] = found
    errors = _errors(envelope, scrub)
    mentions = _mentions(errors, per_email)
    named_any = [bool(names) for names in mentions]
    results: list[WriteResult] = []
    for write in chunk:
        email = normalise_email(write.email)
        key = (email, normalise_id(write.subscription_id))
        done = written.get(key)
        if done is not None:
            results.append(
                WriteResult(
                    write,
                    Outcome.CONFIRMED,
                    reason=done.reason,
                    correlation_id=correlation_id,
                    statuses=(done.status,),
                )
            )
            continue
        failed: str | None = None
        about: str | None = None
        for error, names in zip(errors, mentions, strict=True):
            if email not in names:
                continue
            about = about or error.line
            if per_email[email] == 1 or id_pattern(key[1]).search(error.text):
                failed = error.line
                break
        if failed is not None:
            results.append(
                WriteResult(write, Outcome.FAILED, error=failed, correlation_id=correlation_id)
            )
        else:
            results.append(
                WriteResult(write, Outcome.UNCONFIRMED, error=about, correlation_id=correlation_id)
            )
    return _fill_unnamed(results, envelope, errors, named_any)


def _fill_unnamed(
    results: list[WriteResult],
    envelope: Envelope,
    errors: Sequence[_Error],
    named_any: Sequence[bool],
) -> list[WriteResult]:
    # An unconfirmed input that no error named still deserves a reason in the journal.
    fallback = _unnamed(envelope, errors, named_any)
    return [
        WriteResult(r.target, r.outcome, error=fallback, correlation_id=r.correlation_id)
        if r.outcome is Outcome.UNCONFIRMED and r.error is None
        else r
        for r in results
    ]


def _written(
    raw: Mapping[str, Any], by_key: Mapping[tuple[str, str], StatusWrite]
) -> WrittenStatus | None:
    email = raw.get("subscriberIdString")
    sub_id = raw.get("subscriptionId")
    if email is None or sub_id is None:
        log.warning("ignoring a write result without subscriberIdString or subscriptionId")
        return None
    try:
        key = (normalise_email(str(email)), normalise_id(sub_id))
        write = by_key.get(key)
        if write is None:
            log.warning("ignoring a write result for an input that was not sent")
            return None
        return parse_written_status(raw, email=key[0], brand=write.brand)
    except ShapeError as exc:
        log.warning("ignoring an unreadable write result: %s", exc)
        return None


def match_opt_outs(
    chunk: Sequence[SubscriberKey],
    envelope: Envelope,
    *,
    correlation_id: str | None,
    scrub: Scrubber,
) -> list[WriteResult]:
    """Per-input results of one ``statuses/batch/unsubscribe-all`` answer (one brand)."""
    brands = {normalise_email(k.email): k.brand for k in chunk}
    listed: dict[str, tuple[LiveStatus, ...]] = {}
    reasons: dict[str, str | None] = {}
    if envelope.complete:
        for raw in envelope.results:
            email_raw = raw.get("subscriberIdString")
            if email_raw is None:
                log.warning("ignoring an unsubscribe-all result without subscriberIdString")
                continue
            email = normalise_email(str(email_raw))
            brand = brands.get(email)
            if brand is None:
                log.warning("ignoring an unsubscribe-all result for an input that was not sent")
                continue
            statuses: list[WrittenStatus] = []
            try:
                for item in raw.get("statuses") or []:
                    if isinstance(item, Mapping):
                        statuses.append(parse_written_status(item, email=email, brand=brand))
            except ShapeError as exc:
                log.warning("ignoring an unreadable unsubscribe-all result: %s", exc)
                continue
            listed[email] = tuple(s.status for s in statuses)
            distinct = sorted({s.reason for s in statuses if s.reason})
            reasons[email] = ",".join(distinct) or None
    errors = _errors(envelope, scrub)
    mentions = _mentions(errors, brands)
    named_any = [bool(names) for names in mentions]
    results: list[WriteResult] = []
    for key in chunk:
        email = normalise_email(key.email)
        if email in listed:
            results.append(
                WriteResult(
                    key,
                    Outcome.CONFIRMED,
                    reason=reasons[email],
                    correlation_id=correlation_id,
                    statuses=listed[email],
                )
            )
            continue
        failed = next(
            (error.line for error, names in zip(errors, mentions, strict=True) if email in names),
            None,
        )
        outcome = Outcome.FAILED if failed is not None else Outcome.UNCONFIRMED
        results.append(WriteResult(key, outcome, error=failed, correlation_id=correlation_id))
    return _fill_unnamed(results, envelope, errors, named_any)


def write_input(write: StatusWrite) -> dict[str, Any]:
    """The wire shape of one write: integer subscriptionId, legal basis only when set."""
    try:
        sub_id = int(write.subscription_id)
    except ValueError:
        raise UsageError(
            f"subscription id {write.subscription_id!r} of {write.email} is not a number",
            hint="resolve subscription names to ids before writing",
        ) from None
    item: dict[str, Any] = {
        "subscriberIdString": normalise_email(write.email),
        "subscriptionId": sub_id,
        "statusState": write.status.value,
        "channel": "EMAIL",
    }
    if write.legal_basis:
        item["legalBasis"] = write.legal_basis
    if write.legal_basis_explanation:
        item["legalBasisExplanation"] = write.legal_basis_explanation
    return item


def whole_call_failed(
    chunk: Sequence[StatusWrite] | Sequence[SubscriberKey], error: ApiError
) -> list[WriteResult]:
    """Every input of a call that failed as a whole: FAILED if HubSpot refused it and no
    earlier attempt may have been applied, else UNCONFIRMED."""
    # A 4xx answer (429 included) means HubSpot did not act on that attempt; anything
    # else (5xx, no answer, an unreadable answer) may have been applied. So may an
    # earlier attempt of the same call (a 504, a dropped connection) whose retry was then
    # refused: a refusal only speaks for itself. Verification decides those.
    refused = 400 <= error.status_code < 500
    message = error.message
    if refused and error.may_have_applied:
        refused = False
        message = f"{EARLIER_ATTEMPT}; a retry was refused: {message}"
    outcome = Outcome.FAILED if refused else Outcome.UNCONFIRMED
    return [
        WriteResult(target, outcome, error=message, correlation_id=error.correlation_id)
        for target in chunk
    ]


def not_retried(
    chunk: Sequence[StatusWrite] | Sequence[SubscriberKey], error: ApiError
) -> list[WriteResult]:
    """Every input of a call stopped before a retry after an attempt that may have been
    applied (``error`` is that attempt's failure): UNCONFIRMED, the read-back decides."""
    message = f"{EARLIER_ATTEMPT}; not retried because the run was stopping: {error.message}"
    return [
        WriteResult(target, Outcome.UNCONFIRMED, error=message, correlation_id=error.correlation_id)
        for target in chunk
    ]


def norm_key(key: SubscriberKey) -> SubscriberKey:
    """The key with its email normalised."""
    return SubscriberKey(key.brand, normalise_email(key.email))


def retarget(result: WriteResult, key: SubscriberKey) -> WriteResult:
    """The same result for another spelling of the same input."""
    if result.target == key:
        return result
    return WriteResult(
        key, result.outcome, result.reason, result.error, result.correlation_id, result.statuses
    )
