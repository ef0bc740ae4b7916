"""Claims: what each place in the config says about a (subscriber, brand, subscription).

Subscriber files add claims at two levels, a subscriber's own entry and a group. Within
one level, two places that say different things are a conflict naming both places (the
same thing twice is fine); across levels the entry wins
(docs/architecture.md#config-language). :meth:`Claims.finish` applies that precedence
and the checks that need the whole picture, such as an opt-out of all next to a
subscribed status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final

import yaml

from reconciler.config._text import quote
from reconciler.errors import Finding
from reconciler.model import (
    DesiredOptOut,
    DesiredStatus,
    Location,
    PairKey,
    Status,
    SubscriberKey,
    valid_email,
)

__all__ = ["Claims", "parse_when", "valid_email"]

_TIMESTAMP: Final = yaml.SafeLoader.timestamp_regexp
_CONSTRUCT: Final = yaml.SafeLoader("")


def parse_when(text: str) -> datetime | None:
    """An ISO date (start of day, UTC) or date-time (UTC when naive), or None."""
    if len(text) > 64:
        return None
    value: date | datetime
    try:
        if _TIMESTAMP.match(text):
            node = yaml.ScalarNode("tag:yaml.org,2002:timestamp", text)
            value = _CONSTRUCT.construct_yaml_timestamp(node)
        else:
            value = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _difference(new: DesiredStatus, old: DesiredStatus) -> tuple[str, str, str] | None:
    """The first field in which two declarations of one pair really differ, with both
    values (new, old); None when they agree.

    The status, ``resubscribe`` and ``consented_at`` always count. A legal basis or
    explanation counts when either declaration wrote it itself, or when the value is
    subscribed; for unsubscribed and not_specified an inherited one (from ``defaults``)
    is a formality that may differ between files, and the first file's is sent.
    """
    if new.status is not old.status:
        return "status", _word(new.status), _word(old.status)
    if new.resubscribe is not old.resubscribe:
        return "resubscribe", str(new.resubscribe).lower(), str(old.resubscribe).lower()
    if new.consented_at != old.consented_at:
        return "consented_at", _when(new.consented_at), _when(old.consented_at)
    subscribed = new.status is Status.SUBSCRIBED
    for name, mine, theirs, written in (
        (
            "legal_basis",
            new.legal_basis,
            old.legal_basis,
            new.basis_written or old.basis_written,
        ),
        (
            "legal_basis_explanation",
            new.legal_basis_explanation,
            old.legal_basis_explanation,
            new.explanation_written or old.explanation_written,
        ),
    ):
        if mine != theirs and (subscribed or written):
            return name, _value(mine), _value(theirs)
    return None


def _when(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else "(none)"


def _value(text: str | None) -> str:
    return quote(text, 60) if text is not None else "(none)"


def _word(status: Status) -> str:
    return status.value.lower()


@dataclass(slots=True)
class Claims:
    """Every claim made so far, by level, plus the findings about them."""

    entries: dict[PairKey, DesiredStatus] = field(default_factory=dict)
    groups: dict[PairKey, tuple[DesiredStatus, str]] = field(default_factory=dict)
    entry_opt_outs: dict[SubscriberKey, DesiredOptOut] = field(default_factory=dict)
    group_opt_outs: dict[SubscriberKey, tuple[DesiredOptOut, str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def _conflict(self, here: Location | None, message: str) -> None:
        where = here or Location("?", 1, 1)
        self.findings.append(
            Finding(where.file, where.line, where.column, message, "error", "conflict")
        )

    def entry(self, want: DesiredStatus) -> None:
        """A subscriber's own entry sets a status."""
        before = self.entries.setdefault(want.key, want)
        if before is not want:
            clash = _difference(want, before)
            if clash is not None:
                self._conflict(want.location, _status_clash(want, "", before, "", clash))

    def group(self, want: DesiredStatus, label: str) -> None:
        """A group sets a status for one of its members."""
        before = self.groups.setdefault(want.key, (want, label))
        if before[0] is not want:
            clash = _difference(want, before[0])
            if clash is not None:
                self._conflict(
                    want.location, _status_clash(want, label, before[0], before[1], clash)
                )

    def entry_opt_out(self, want: DesiredOptOut) -> None:
        """A subscriber's own entry declares ``unsubscribe_all``."""
        before = self.entry_opt_outs.setdefault(want.key, want)
        if before is not want and before.unsubscribe_all != want.unsubscribe_all:
            self._conflict(want.location, _opt_out_clash(want, "", before, ""))

    def group_opt_out(self, want: DesiredOptOut, label: str) -> None:
        """A group declares ``unsubscribe_all`` for one of its members."""
        before = self.group_opt_outs.setdefault(want.key, (want, label))
        if before[0] is not want and before[0].unsubscribe_all != want.unsubscribe_all:
            self._conflict(want.location, _opt_out_clash(want, label, before[0], before[1]))

    def finish(
        self,
    ) -> tuple[dict[PairKey, DesiredStatus], dict[SubscriberKey, DesiredOptOut]]:
        """Apply precedence (entry over group) and the whole-config checks."""
        statuses: dict[PairKey, DesiredStatus] = {k: v for k, (v, _) in self.groups.items()}
        statuses.update(self.entries)
        opt_outs: dict[SubscriberKey, DesiredOptOut] = {
            k: v for k, (v, _) in self.group_opt_outs.items()
        }
        opt_outs.update(self.entry_opt_outs)
        # By (brand, email): a plain pair per status is cheaper than a SubscriberKey.
        opted_out = {(k.brand, k.email): v for k, v in opt_outs.items() if v.unsubscribe_all}
        if opted_out:
            for key, want in statuses.items():
                if want.status is Status.UNSUBSCRIBED:
                    continue
                block = opted_out.get((key.brand, key.email))
                if block is None:
                    continue
                from_group = key not in self.entries
                source = f" (from {self.groups[key][1]})" if from_group else ""
                alias = quote(want.alias or "", 40)
                if want.status is Status.SUBSCRIBED:
                    self._conflict(
                        want.location,
                        f"{key.email} is subscribed to {alias}{source} but has "
                        f"unsubscribe_all: true at {block.location} (business unit "
                        f"{key.brand}); an opt-out of all cannot go with a subscribed status: "
                        "remove one",
                    )
                else:
                    # An opt-out of all makes every subscription of the brand UNSUBSCRIBED,
                    # so not_specified could never be reached: plan would block it forever.
                    self._conflict(
                        want.location,
                        f"{key.email} is not_specified for {alias}{source} but has "
                        f"unsubscribe_all: true at {block.location} (business unit "
                        f"{key.brand}); an opt-out of all makes every subscription "
                        "unsubscribed: write unsubscribed or remove the line",
                    )
        return statuses, opt_outs


def _place(want: DesiredStatus | DesiredOptOut, label: str) -> str:
    where = f"at {want.location}" if want.location is not None else "elsewhere"
    return f"{where} ({label})" if label else where


def _status_clash(
    new: DesiredStatus,
    label: str,
    old: DesiredStatus,
    old_label: str,
    clash: tuple[str, str, str],
) -> str:
    key = new.key
    subject = f"{key.email} {quote(new.alias or '', 40)} (business unit {key.brand})"
    here = f"here ({label})" if label else "here"
    name, mine, theirs = clash
    if name == "status":
        detail = f"{mine} {here}, {theirs} {_place(old, old_label)}"
    else:
        detail = (
            f"{_word(new.status)} in both places, but {name} is {mine} {here} and {theirs} "
            f"{_place(old, old_label)}"
        )
    return f"conflicting settings for {subject}: {detail}; set it in one place"


def _opt_out_clash(new: DesiredOptOut, label: str, old: DesiredOptOut, old_label: str) -> str:
    here = f"here ({label})" if label else "here"
    return (
        f"conflicting unsubscribe_all for {new.key.email} (business unit {new.key.brand}): "
        f"{str(new.unsubscribe_all).lower()} {here}, {str(old.unsubscribe_all).lower()} "
        f"{_place(old, old_label)}; set it in one place"
    )
