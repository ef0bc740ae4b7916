"""Small builders for desired and live states, so diff tests read like tables."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.model import (
    DesiredOptOut,
    DesiredState,
    DesiredStatus,
    LiveOptOut,
    LiveState,
    LiveStatus,
    PairKey,
    Status,
    SubscriberKey,
)

S, U, N = Status.SUBSCRIBED, Status.UNSUBSCRIBED, Status.NOT_SPECIFIED
EMAIL = "pat@example.com"


def at(day: str) -> datetime:
    """A UTC datetime from 'YYYY-MM-DD' or an ISO date-time."""
    text = day if "T" in day else f"{day}T00:00:00"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def want(
    status: Status,
    *,
    sub: str = "101",
    email: str = EMAIL,
    brand: int = 0,
    resubscribe: bool = False,
    consented_at: str | None = None,
    basis: str | None = None,
    explanation: str | None = None,
    own: bool | None = None,
) -> DesiredStatus:
    """A desired status; its evidence counts as its own when it gives both legal fields,
    unless ``own`` says otherwise (``own=False``: inherited from defaults)."""
    return DesiredStatus(
        key=PairKey(brand, email, sub),
        status=status,
        alias=f"alias-{sub}",
        resubscribe=resubscribe,
        consented_at=at(consented_at) if consented_at else None,
        legal_basis=basis,
        legal_basis_explanation=explanation,
        own_evidence=own if own is not None else (basis is not None and explanation is not None),
    )


def desired(
    *statuses: DesiredStatus, opt_outs: dict[tuple[int, str], bool] | None = None
) -> DesiredState:
    return DesiredState(
        statuses={s.key: s for s in statuses},
        opt_outs={
            SubscriberKey(b, e): DesiredOptOut(SubscriberKey(b, e), flag)
            for (b, e), flag in (opt_outs or {}).items()
        },
    )


def live_status(
    status: Status,
    *,
    sub: str = "101",
    email: str = EMAIL,
    brand: int = 0,
    when: str = "2026-05-01",
) -> LiveStatus:
    return LiveStatus(
        key=PairKey(brand, email, sub), status=status, timestamp=at(when), source="API"
    )


def live(
    *statuses: LiveStatus, opted_out: dict[tuple[int, str], str | None] | None = None
) -> LiveState:
    """``opted_out`` maps (brand, email) to the time of the opt-out of all."""
    return LiveState(
        statuses={s.key: s for s in statuses},
        opt_outs={
            SubscriberKey(b, e): LiveOptOut(SubscriberKey(b, e), True, at(t) if t else None)
            for (b, e), t in (opted_out or {}).items()
        },
    )
