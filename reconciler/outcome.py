"""How an apply ended: one state per change, the run's report, and its one-line error.

:class:`ApplyReport` is what :func:`reconciler.apply.apply_plan` returns and what the
renderers (``render/apply_report.py``) and the CLI read; :func:`failure_line` and
:func:`nothing_sent_line` are the error line of a run that fell short, and
:func:`legal_basis_hint` says what to do after HubSpot refused writes for want of a legal
basis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.errors import ApiError
from reconciler.plan import Change

__all__ = [
    "GDPR_OFF_HINT",
    "LEGAL_BASIS_HINT",
    "ApplyReport",
    "ItemReport",
    "ItemState",
    "failure_line",
    "lacks_legal_basis",
    "legal_basis_hint",
    "nothing_sent_line",
]


class ItemState(StrEnum):
    """How one change ended."""

    APPLIED = "applied"  # the read-back shows it
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"  # not known to be applied
    NOT_SENT = "not_sent"


@dataclass(frozen=True, slots=True)
class ItemReport:
    """How one change ended: applied (verified), failed, unconfirmed or not sent."""

    change: Change
    state: ItemState
    detail: str | None = None
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What an apply did.

    ``calls_made`` counts the calls that went to HubSpot (answered or refused), of
    ``calls_planned``; a call HubSpot did not act on (answered 429, or never connected)
    and that was stopped before its retry counts as not sent. ``interrupted`` is true
    when the caller's ``stop`` was set (Ctrl-C, SIGTERM) before anything else stopped the
    run; ``stopped_by`` is HubSpot's refusal that stopped it (401, 403, the daily cap), if
    one did. ``read_back_error`` says why the verification read was refused, if it was.
    ``journal_error`` is the OS error of a failed journal write (the run stopped sending
    then), and ``unjournalled`` the lines it could not write (ASCII JSON), which the
    caller must show so the evidence is not lost.
    """

    items: tuple[ItemReport, ...] = ()
    calls_made: int = 0
    interrupted: bool = False
    journal_lines: int = 0
    implied_missing: tuple[str, ...] = field(default=())
    calls_planned: int = 0
    stopped_by: ApiError | None = None
    read_back_error: str | None = None
    journal_error: str | None = None
    unjournalled: tuple[str, ...] = ()
    # Changes of the plan that HubSpot already showed at the re-read (a re-run after a
    # crash or a retried CI job): skipped, not written, not in ``items``.
    already_applied: tuple[Change, ...] = ()
    # The config's portal.gdpr (from the plan), for what to do after a refusal for want
    # of a legal basis.
    gdpr: bool | None = None

    @property
    def nothing_sent(self) -> bool:
        """No change of the run can have reached HubSpot: every one is not sent (a call
        HubSpot answered 429 and that was not retried counts as not sent)."""
        return bool(self.items) and all(item.state == ItemState.NOT_SENT for item in self.items)

    def of(self, state: ItemState) -> list[ItemReport]:
        """The items that ended in ``state``."""
        return [item for item in self.items if item.state == state]

    @property
    def ok(self) -> bool:
        """Every change applied and verified (exit 0), however the run was stopped.

        An interrupt that came after every call had been sent changed nothing, so it does
        not make the run fail; one that kept a change from being sent does, through that
        change.
        """
        return (
            self.stopped_by is None
            and self.journal_error is None
            and all(item.state == ItemState.APPLIED for item in self.items)
            and not self.implied_missing
        )


# How the error line names the signal that interrupted a run.
_STOPPED_BY = {"SIGINT": "interrupted (Ctrl-C)", "SIGTERM": "terminated (SIGTERM)"}


def nothing_sent_line(signal: str = "SIGINT") -> str:
    """What an apply interrupted before any change was sent says (``signal``: SIGINT or
    SIGTERM): plainly, that HubSpot holds nothing of it."""
    how = _STOPPED_BY.get(signal, _STOPPED_BY["SIGINT"])
    return f"the apply was {how} before any change was sent: nothing was written to HubSpot"


def failure_line(report: ApplyReport, *, signal: str = "SIGINT") -> str:
    """The one-line error of an apply that did not reach every desired state, naming how
    many changes ended in each state; ``signal`` (SIGINT or SIGTERM) names what
    interrupted the run, if something did."""
    total = len(report.items)
    counts = [
        f"{len(report.of(ItemState.FAILED))} failed",
        f"{len(report.of(ItemState.UNCONFIRMED))} unconfirmed",
        f"{len(report.of(ItemState.NOT_SENT))} not sent",
    ]
    parts = [part for part in counts if not part.startswith("0 ")]
    if report.implied_missing:
        parts.append(
            f"{len(report.implied_missing)} implied "
            f"{'unsubscribe' if len(report.implied_missing) == 1 else 'unsubscribes'} "
            "not shown by the read-back"
        )
    applied = len(report.of(ItemState.APPLIED))
    listed = ", ".join(parts)
    if report.interrupted:
        how = _STOPPED_BY.get(signal, _STOPPED_BY["SIGINT"])
        if report.nothing_sent:
            return nothing_sent_line(signal)
        return f"the apply was {how}: {applied} of {total} changes applied and verified, {listed}"
    if applied == total:
        return f"all {total} changes were applied and verified, but {listed}"
    return f"{total - applied} of {total} changes did not reach their desired state: {listed}"


# How HubSpot's refusal of a write for want of a legal basis reads ("legalBasis and
# legalBasisExplanation are required", "A legal basis ... is required").
_LEGAL_BASIS = re.compile(r"legal\s*basis", re.IGNORECASE)

# What to do when HubSpot refused writes for want of a legal basis: a new plan of the same
# config would be refused again.
LEGAL_BASIS_HINT = (
    "HubSpot requires a legal basis on these writes (the portal has data-privacy settings "
    "on): add legal_basis and legal_basis_explanation to those entries, or defaults to "
    "their files, then run apply again"
)

# The same, when the config says the portal has no data-privacy settings: the config is
# wrong about the portal, and gdpr: true makes validate name every entry that lacks one.
GDPR_OFF_HINT = (
    "HubSpot requires a legal basis on these writes (the portal has data-privacy settings "
    "on), but hsprefs.yaml says gdpr: false: set gdpr: true under portal in hsprefs.yaml "
    "and give a legal basis (legal_basis and legal_basis_explanation, for instance in the "
    "files' defaults), then run apply again"
)


def legal_basis_hint(gdpr: bool | None) -> str:
    """What to do after HubSpot refused writes for want of a legal basis, given the
    config's ``portal.gdpr`` (None: not known, a plan saved before it was recorded)."""
    return GDPR_OFF_HINT if gdpr is False else LEGAL_BASIS_HINT


def lacks_legal_basis(report: ApplyReport) -> bool:
    """Whether HubSpot refused some write of ``report`` for want of a legal basis."""
    return any(
        item.detail is not None and _LEGAL_BASIS.search(item.detail)
        for item in report.of(ItemState.FAILED)
    )
