"""Wire shapes → the model's frozen dataclasses.

Tolerant by design (docs/architecture.md#the-api): optional fields may be absent or
null, unknown fields are ignored, subscription ids arrive as int64 (statuses) or strings
(definitions) and are normalised to the string form, v3's ``NOT_SUBSCRIBED`` reads as
UNSUBSCRIBED. What we cannot do without (a status entry without a subscription id or a
status) is a :class:`ShapeError`, never a silent skip: a skipped opt-out would read as
no opt-out.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from reconciler.model import (
    Definition,
    LiveOptOut,
    LiveStatus,
    PairKey,
    Shared,
    Status,
    SubscriberKey,
    normalise_email,
)

__all__ = [
    "Envelope",
    "ShapeError",
    "WrittenStatus",
    "id_pattern",
    "mentioned",
    "normalise_id",
    "parse_definitions",
    "parse_envelope",
    "parse_managed",
    "parse_status",
    "parse_wide_statuses",
    "parse_written_status",
]


_K = TypeVar("_K")
_V = TypeVar("_V")


class ShapeError(ValueError):
    """A response lacks something the client needs; the message says what."""


def normalise_id(value: Any) -> str:
    """A subscription id as the model keys it: the decimal string (``101``, not ``"0101"``)."""
    if isinstance(value, bool) or value is None:
        raise ShapeError(f"subscription id {value!r} is not an id")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if text.isdigit():
        return str(int(text))
    if not text:
        raise ShapeError("empty subscription id")
    return text


def _brand(value: Any, fallback: int) -> int:
    if value is None or isinstance(value, bool):
        return fallback
    try:
        return int(value)
    except (TypeError, ValueError):
        return fallback


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO-8601 date-time (``Z`` allowed) or epoch milliseconds; None when unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000.0, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)  # 3.11 reads "Z" and fractions itself
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_STATUSES = {status.value: status for status in Status}


def _status(value: Any, where: str) -> Status:
    if value is None:
        raise ShapeError(f"{where} has no status")
    known = _STATUSES.get(value) if isinstance(value, str) else None
    if known is not None:
        return known  # the common case, without Status.parse's normalising
    try:
        return Status.parse(str(value))
    except ValueError:
        raise ShapeError(f"{where} has an unknown status {value!r}") from None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _objects(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a JSON list (a decoded JSON object is a dict)."""
    return [item for item in _list(value) if isinstance(item, dict)]


@dataclass(frozen=True, slots=True)
class Envelope:
    """A batch answer: whether it is final, its results and its per-item errors."""

    status: str | None
    results: list[Mapping[str, Any]]
    errors: list[Mapping[str, Any]]
    num_errors: int

    @property
    def complete(self) -> bool:
        """True for ``COMPLETE``; an absent status is read as complete (results are final)."""
        return self.status is None or self.status == "COMPLETE"


def parse_envelope(body: Mapping[str, Any]) -> Envelope:
    """Read a batch envelope; null or missing lists are empty."""
    status = _str(body.get("status"))
    errors = _objects(body.get("errors"))
    num = body.get("numErrors")
    num_errors = num if isinstance(num, int) and not isinstance(num, bool) else len(errors)
    return Envelope(
        status=status.upper() if status else None,
        results=_objects(body.get("results")),
        errors=errors,
        num_errors=max(num_errors, len(errors)),
    )


def parse_status(raw: Mapping[str, Any], *, email: str | None, brand: int) -> LiveStatus:
    """One ``PublicStatus``: keyed by its own businessUnitId when present, else ``brand``,
    and by its own subscriberIdString, else ``email`` (a normalised address)."""
    return _live(raw, PairKey._make(_pair_of(raw, email, brand)))


def parse_managed(
    raw_list: Iterable[Mapping[str, Any]],
    *,
    email: str,
    brand: int,
    pairs: Mapping[PairKey, PairKey],
) -> list[LiveStatus]:
    """The statuses of one subscriber whose pair is in ``pairs``, keyed by the key object
    it maps to (:class:`~reconciler.model.ReadScope`); the others are dropped unread."""
    found: list[LiveStatus] = []
    for raw in raw_list:
        # A plain tuple finds the key it equals (model.PairKey is a named tuple).
        key = pairs.get(_pair_of(raw, email, brand))  # type: ignore[call-overload]
        if key is not None:
            found.append(_live(raw, key))
    return found


def _pair_of(raw: Mapping[str, Any], email: str | None, brand: int) -> tuple[int, str, str]:
    """(brand, address, subscription id) of a status, as a plain tuple."""
    get = raw.get
    address = get("subscriberIdString")
    if address == email and email is not None:
        address = email  # the asked address, shared with the caller's, is the common case
    else:
        address = _str(address) or email
        if address is None:
            raise ShapeError("a status has no subscriberIdString")
        address = normalise_email(address)
    raw_id = get("subscriptionId")
    if raw_id is None:
        raise ShapeError(f"the status of {address} has no subscriptionId")
    sub_id = _ids[raw_id] if type(raw_id) in (str, int) else _id(raw_id)
    unit = get("businessUnitId")
    return (unit if type(unit) is int else _brand(unit, brand), address, sub_id)


def _live(raw: Mapping[str, Any], key: PairKey) -> LiveStatus:
    get = raw.get
    value = get("status")
    status = _STATUSES.get(value) if type(value) is str else None
    if status is None:
        status = _status(value, f"the status of {key.email} for subscription {key.subscription_id}")
    # Each text and time is looked up by its exact string; anything else is parsed as is.
    texts = _texts
    stamp, source, basis, explanation, name = (
        get("timestamp"),
        get("source"),
        get("legalBasis"),
        get("legalBasisExplanation"),
        get("subscriptionName"),
    )
    return LiveStatus(
        key,
        status,
        _times[stamp] if type(stamp) is str else parse_timestamp(stamp),
        texts[source] if type(source) is str else _str(source),
        texts[basis] if type(basis) is str else _str(basis),
        texts[explanation] if type(explanation) is str else _str(explanation),
        texts[name] if type(name) is str else _str(name),
    )


def _id(value: Any) -> str:
    return sys.intern(normalise_id(value))


def _interned(value: str) -> str | None:
    text = _str(value)
    return None if text is None else sys.intern(text)


_ids: Shared[str | int, str] = Shared(_id)
_times: Shared[str, datetime | None] = Shared(parse_timestamp)
_texts: Shared[str, str | None] = Shared(_interned)


@dataclass(frozen=True, slots=True)
class WrittenStatus:
    """A status in a write answer, with HubSpot's ``setStatusSuccessReason``."""

    status: LiveStatus
    reason: str | None


def parse_written_status(raw: Mapping[str, Any], *, email: str | None, brand: int) -> WrittenStatus:
    """A ``PublicStatus`` from a write or unsubscribe-all answer."""
    return WrittenStatus(
        parse_status(raw, email=email, brand=brand), _str(raw.get("setStatusSuccessReason"))
    )


def parse_wide_statuses(
    raw_list: Sequence[Mapping[str, Any]], *, email: str, brand: int
) -> list[LiveOptOut]:
    """The wide statuses of one subscriber read for ``brand``, one LiveOptOut per brand.

    Only ``status: UNSUBSCRIBED`` is an opt-out; an empty list or an explicit SUBSCRIBED
    or NOT_SPECIFIED entry means not opted out. Entries naming another brand are keyed
    by it. A PORTAL_WIDE opt-out covers every brand, so it also marks ``brand``.
    """
    if not raw_list:  # most subscribers: opted out of nothing
        return [LiveOptOut(SubscriberKey(brand, email), False)]
    found: dict[int, LiveOptOut] = {}

    def put(opt: LiveOptOut) -> None:
        seen = found.get(opt.key.brand)
        if seen is None or (opt.opted_out and not seen.opted_out):
            found[opt.key.brand] = opt

    for raw in raw_list:
        where = f"the wide status of {email}"
        opted_out = _status(raw.get("status"), where) is Status.UNSUBSCRIBED
        kind = _str(raw.get("wideStatusType"))
        stamp = parse_timestamp(raw.get("timestamp"))
        own = _brand(raw.get("businessUnitId"), brand)
        put(LiveOptOut(SubscriberKey(own, email), opted_out, stamp, kind))
        if opted_out and kind == "PORTAL_WIDE" and own != brand:
            put(LiveOptOut(SubscriberKey(brand, email), True, stamp, kind))
    if brand not in found:
        found[brand] = LiveOptOut(SubscriberKey(brand, email), False)
    return [found[b] for b in sorted(found)]


def parse_definitions(body: Mapping[str, Any], *, brand: int | None) -> list[Definition]:
    """``GET /definitions`` (v4 ``results`` or v3 ``subscriptionDefinitions``).

    The list itself is required, and each of its items must be an object with an id: an
    answer without one is not "no subscription types", it is an answer we cannot read.
    """
    key = "results" if body.get("results") is not None else "subscriptionDefinitions"
    raw_items = body.get(key)
    if raw_items is None:
        raise ShapeError("it has no 'results' list of subscription definitions")
    if not isinstance(raw_items, list):
        raise ShapeError(f"its '{key}' is {_kind(raw_items)}, not a list")
    items: list[Definition] = []
    for number, raw in enumerate(raw_items, start=1):
        if not isinstance(raw, Mapping):
            raise ShapeError(f"item {number} of '{key}' is {_kind(raw)}, not an object")
        if raw.get("id") is None:
            raise ShapeError(f"item {number} of '{key}' has no id")
        def_id = normalise_id(raw.get("id"))
        items.append(
            Definition(
                id=def_id,
                name=_str(raw.get("name")) or def_id,
                brand=_brand(raw.get("businessUnitId"), brand or 0),
                is_active=raw.get("isActive") is not False,
                purpose=_str(raw.get("purpose")),
                description=_str(raw.get("description")),
                is_default=raw.get("isDefault") is True,
                is_internal=raw.get("isInternal") is True,
                communication_method=_str(raw.get("communicationMethod")),
            )
        )
    return items


def _kind(value: Any) -> str:
    """What a JSON value is, for a message (never the value itself: it may be huge)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "null"


# Characters that may continue an email address or a number: a match must not touch them.
_EMAIL_AFTER = r"(?![A-Za-z0-9_%+\-]|\.[A-Za-z0-9])"


def mentioned(texts: Sequence[str], emails: Iterable[str]) -> list[set[str]]:
    """For each text, which of ``emails`` (normalised) it names as a whole address.

    One pattern for the whole answer, built only when there is something to search: a
    pattern per address costs a regex compilation per input, which was most of apply's
    time on large batches. Longer addresses come first in the alternation, so that
    ``a@b.co`` is not read as ``a@b.c``. An address counts only as a whole: no address
    character may touch it on either side (``xa@b.c`` and ``a@b.cd`` do not name
    ``a@b.c``), case-insensitively.
    """
    if not texts:
        return []
    wanted = sorted(set(emails), key=len, reverse=True)
    if not wanted:
        return [set() for _ in texts]
    alternatives = "|".join(map(re.escape, wanted))
    pattern = re.compile(
        r"(?<![A-Za-z0-9_%+.\-])(" + alternatives + ")" + _EMAIL_AFTER, re.IGNORECASE
    )
    return [{m.group(1).lower() for m in pattern.finditer(text)} for text in texts]


def id_pattern(sub_id: str) -> re.Pattern[str]:
    """Matches a subscription id as a whole number inside a longer text."""
    return re.compile(r"(?<![0-9])" + re.escape(sub_id) + r"(?![0-9])")
