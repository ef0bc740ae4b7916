"""A generated portal for the benchmarks: a config repository and the emulator seed it is
planned against.

Two brands (0 and 5, 70 % and 30 % of the subscribers). In each brand half of the
subscribers are YAML entries (files of at most 10,000 entries) and half are members of a
group fed by a CSV roster. One entry in a hundred declares ``unsubscribe_all: true``.
The seed makes one declared value in ``differ_every`` (default two: most subscribers are
touched, as in a first apply or a large migration) differ from live, in every kind that
is a change (subscribe, unsubscribe, unsubscribe-all) and none that would be blocked; the
rest already match. Nothing is random: the same size gives the same files and the same plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

PORTAL = 12345678
TOKEN = "bench-token"
FILE_ENTRIES = 10_000
BASIS = ("CONSENT_WITH_NOTICE", "Signed up on the website")
# brand -> the (alias, id) pairs its subscribers declare
SUBSCRIPTIONS = {0: (("news", "101"), ("product", "102")), 5: (("outdoor", "201"),)}
ENTRY_VALUES = {0: ("subscribed", "unsubscribed"), 5: ("subscribed",)}
GROUP_VALUE = {0: ("news", "subscribed"), 5: ("outdoor", "unsubscribed")}


@dataclass
class Portal:
    """What was generated, and the calls design §5 allows for planning and applying it."""

    size: int
    per_brand: dict[int, int] = field(default_factory=dict)
    writes: int = 0
    opt_outs: dict[int, int] = field(default_factory=dict)
    touched: dict[int, int] = field(default_factory=dict)

    def plan_minimum(self, batch: int) -> int:
        """Account-info, /definitions, and a status and an opt-out read per batch per brand."""
        return 2 + sum(2 * math.ceil(n / batch) for n in self.per_brand.values())

    def apply_minimum(self, batch: int) -> int:
        """Account-info, the writes, the opt-outs, and two re-reads of the touched subscribers
        (stale check, verification) of at most the plan's reads for them."""
        rereads = sum(2 * math.ceil(n / batch) for n in self.touched.values())
        opt_outs = sum(math.ceil(n / batch) for n in self.opt_outs.values())
        return 1 + math.ceil(self.writes / batch) + opt_outs + 2 * rereads

    @property
    def changes(self) -> int:
        return self.writes + sum(self.opt_outs.values())


def _brand(number: int) -> int:
    return 5 if number % 10 < 3 else 0


def _differs(number: int, every: int) -> bool:
    """One in ``every``, spread over brands, entries, groups and opt-outs alike."""
    return (number * 2654435761 >> 11) % every == 0


def generate(folder: Path, size: int, differ_every: int = 2) -> Portal:
    """Write ``hsprefs.yaml``, ``subscribers/`` and ``seed.yaml`` into ``folder``."""
    portal = Portal(size)
    entries: dict[int, list[str]] = {0: [], 5: []}
    members: dict[int, list[str]] = {0: [], 5: []}
    seed_rows: list[str] = []
    seed_opt_outs: list[str] = []
    touched: dict[int, set[str]] = {0: set(), 5: set()}
    for number in range(size):
        email = f"user{number:07d}@example.com"
        brand = _brand(number)
        portal.per_brand[brand] = portal.per_brand.get(brand, 0) + 1
        differs = _differs(number, differ_every)
        if number % 2 == 0 and number % 100 == 0:
            entries[brand].append(f"  {email}: {{unsubscribe_all: true}}")
            if differs:
                portal.opt_outs[brand] = portal.opt_outs.get(brand, 0) + 1
                touched[brand].add(email)
            else:
                seed_opt_outs.append(f"  - {{email: {email}, business_unit: {brand}}}")
            continue
        if number % 2 == 0:
            pairs = list(zip(SUBSCRIPTIONS[brand], ENTRY_VALUES[brand], strict=True))
            body = ", ".join(f"{alias}: {value}" for (alias, _), value in pairs)
            entries[brand].append(f"  {email}: {{{body}}}")
            declared = [(sub_id, value) for (_, sub_id), value in pairs]
        else:
            members[brand].append(email)
            alias, value = GROUP_VALUE[brand]
            declared = [(dict(SUBSCRIPTIONS[brand])[alias], value)]
        for sub_id, value in declared:
            seed_rows.extend(_live(email, sub_id, value, differs))
            if differs:
                portal.writes += 1
                touched[brand].add(email)
    portal.touched = {brand: len(emails) for brand, emails in touched.items() if emails}
    _write_config(folder, entries, members)
    _write_seed(folder / "seed.yaml", seed_rows, seed_opt_outs)
    return portal


def _live(email: str, sub_id: str, declared: str, differs: bool) -> list[str]:
    """The seed rows that make live equal ``declared``, or differ from it as a change."""
    subscribed = declared == "subscribed"
    if differs and subscribed:
        return []  # never set: NOT_SPECIFIED, so the plan subscribes
    live = "SUBSCRIBED" if subscribed or differs else "UNSUBSCRIBED"
    row = f'  - {{email: {email}, subscription: "{sub_id}", status: {live}'
    row += ", timestamp: 2025-06-01T00:00:00Z"
    if live == "SUBSCRIBED":
        row += f', legal_basis: {BASIS[0]}, legal_basis_explanation: "{BASIS[1]}"'
    return [row + "}"]


def _write_config(
    folder: Path, entries: dict[int, list[str]], members: dict[int, list[str]]
) -> None:
    aliases = "\n".join(
        f'  {alias}: {{id: "{sub_id}", business_unit: {brand}}}'
        for brand, pairs in SUBSCRIPTIONS.items()
        for alias, sub_id in pairs
    )
    (folder / "hsprefs.yaml").write_text(
        f"version: 1\nportal: {{id: {PORTAL}, gdpr: true}}\nsubscriptions:\n{aliases}\n"
        "policy: {max_change_percent: 100, min_managed: 10, max_unsubscribe_all: 1000000}\n"
        "include:\n  - subscribers/*.yaml\n",
        encoding="utf-8",
    )
    subscribers = folder / "subscribers"
    subscribers.mkdir()
    head = (
        f"version: 1\nbusiness_unit: {{brand}}\ndefaults:\n  legal_basis: {BASIS[0]}\n"
        f'  legal_basis_explanation: "{BASIS[1]}"\n'
    )
    for brand in (0, 5):
        lines = entries[brand]
        for part, start in enumerate(range(0, len(lines), FILE_ENTRIES)):
            chunk = lines[start : start + FILE_ENTRIES]
            text = head.format(brand=brand) + "subscribers:\n" + "\n".join(chunk) + "\n"
            (subscribers / f"brand{brand}-{part:03d}.yaml").write_text(text, encoding="utf-8")
        roster = f"brand{brand}-members.csv"
        (subscribers / roster).write_text("email\n" + "\n".join(members[brand]) + "\n")
        alias, value = GROUP_VALUE[brand]
        group = f"groups:\n  members:\n    members_file: {roster}\n    set: {{{alias}: {value}}}\n"
        (subscribers / f"brand{brand}-groups.yaml").write_text(
            head.format(brand=brand) + group, encoding="utf-8"
        )


def _write_seed(path: Path, rows: list[str], opt_outs: list[str]) -> None:
    definitions = "\n".join(
        f'  - {{id: "{sub_id}", business_unit: {brand}, name: "{alias.title()}", '
        "created_at: 2024-01-01T00:00:00Z}"
        for brand, pairs in SUBSCRIPTIONS.items()
        for alias, sub_id in pairs
    )
    head = (
        f"version: 1\nportal: {{id: {PORTAL}, gdpr: true}}\n"
        "brands: [{id: 0, name: Account}, {id: 5, name: Outdoor}]\n"
        f"definitions:\n{definitions}\n"
        f"tokens: [{{token: {TOKEN}, name: bench, scopes: all}}]\n"
    )
    with path.open("w", encoding="utf-8") as out:
        out.write(head)
        out.write("statuses:\n" if rows else "statuses: []\n")
        for row in rows:
            out.write(row + "\n")
        out.write("opt_outs:\n" if opt_outs else "opt_outs: []\n")
        for row in opt_outs:
            out.write(row + "\n")
