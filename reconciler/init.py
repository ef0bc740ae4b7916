"""``hsprefs init``: start a config repository from a portal.

:func:`read_portal` asks HubSpot what a first ``hsprefs.yaml`` needs: the portal id, the
subscription types of every brand (``/definitions`` without ``businessUnitId``, plus one
call per brand asked for, since HubSpot may list only the default brand's without one)
and, when a subscriber list is given, whether HubSpot holds legal bases for their
statuses, which it does only when the portal's data-privacy (GDPR) settings are on.

:func:`write_repository` writes the files of :data:`FILES` into a folder: the project
file (portal, brands, one alias per definition with its name, brand and ``(inactive)``
noted, the default policy, the include), a ``.gitignore`` for ``.hsprefs/``, a README
stub, and the JSON Schemas the files' editor comments point to. It never overwrites:
every file is checked first (:func:`check_free`) and then created exclusively, so a
refusal leaves the folder as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.aliases import alias_line, one_line, suggest_aliases
from reconciler.config import PROJECT_FILE
from reconciler.errors import HsprefsError, UsageError
from reconciler.model import Definition, Policy
from reconciler.resources import schema_dir
from reconciler.words import plural

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = [
    "FILES",
    "INCLUDE",
    "SCHEMAS",
    "PortalFacts",
    "check_free",
    "next_steps",
    "project_text",
    "read_portal",
    "readme_text",
    "write_repository",
]

INCLUDE = "subscribers/*.yaml"
"""The include pattern of a new project; ``export --business-unit all`` writes there."""
SCHEMAS = ("project.schema.json", "subscribers.schema.json", "defs.schema.json")
FILES = (PROJECT_FILE, ".gitignore", "README.md", *(f"schemas/{name}" for name in SCHEMAS))
"""What :func:`write_repository` writes, relative to the folder."""
DEFAULT_BRAND_NAME = "Account"  # HubSpot's name of business unit 0


@dataclass(frozen=True, slots=True)
class PortalFacts:
    """What HubSpot told about the portal.

    ``gdpr`` is True when a status of the subscribers looked at carries a legal basis,
    None when nothing showed it either way (no list given, or no legal basis found).
    """

    portal_id: int
    definitions: tuple[Definition, ...]
    gdpr: bool | None = None
    looked_at: int = 0  # subscribers whose statuses were read

    @property
    def brands(self) -> tuple[int, ...]:
        return tuple(sorted({0, *(d.brand for d in self.definitions)}))


async def read_portal(
    client: HubSpotClient, *, brands: Sequence[int] = (), emails: Sequence[str] = ()
) -> PortalFacts:
    """The portal id, the definitions (every brand HubSpot lists, and ``brands``), and
    whether ``emails``' statuses carry legal bases (one read per brand)."""
    portal_id = await client.portal_id()
    found = {d.id: d for d in await client.definitions()}
    for brand in sorted(set(brands)):
        if brand not in {d.brand for d in found.values()}:
            for d in await client.definitions(business_unit=brand):
                found.setdefault(d.id, d)
    definitions = tuple(sorted(found.values(), key=lambda d: (d.brand, _id_key(d.id))))
    gdpr: bool | None = None
    if emails:
        every = sorted({0, *brands, *(d.brand for d in definitions)})
        live = await client.read({brand: list(emails) for brand in every})
        if any(s.legal_basis for s in live.statuses.values()):
            gdpr = True
    return PortalFacts(portal_id, definitions, gdpr, len(emails))


def _id_key(sub_id: str) -> tuple[int, str]:
    return (int(sub_id) if sub_id.isdigit() else 1 << 62, sub_id)


def check_free(folder: Path) -> None:
    """Refuse when any file :func:`write_repository` would write exists already."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(
            f"{folder} is not a folder",
            hint="give init a folder for the new config repository; nothing was written",
        )
    taken = [name for name in FILES if os.path.lexists(folder / name)]
    if taken:
        others = f" (and {plural(len(taken) - 1, 'other file')})" if len(taken) > 1 else ""
        raise UsageError(
            f"{folder / taken[0]} exists{others}; init never overwrites a file",
            hint="move it aside or run init in an empty folder; nothing was written",
        )


def _commented(text: str, comment: str) -> str:
    """A line of YAML with its comment at the column the file's comments share."""
    return f"{text.ljust(_COMMENT_AT - 1)} # {comment}\n"


_COMMENT_AT = 28


def project_text(facts: PortalFacts, today: date) -> str:
    """The new ``hsprefs.yaml``."""
    policy = Policy()
    aliases = suggest_aliases(facts.definitions)
    pasted = [(alias_line(aliases[d.id], d), _note(d)) for d in facts.definitions]
    width = max((len(line) for line, _ in pasted), default=0)
    if facts.gdpr:
        gdpr = _commented("  gdpr: true", "HubSpot holds legal bases: data-privacy settings are on")
    else:
        gdpr = _commented(
            "  # gdpr: true", "set this if the portal's data-privacy (GDPR) settings are on:"
        ) + _commented("  #", "every SUBSCRIBED status then needs a legal basis")
    brands = "".join(
        f"  {brand}: {DEFAULT_BRAND_NAME}\n"
        if brand == 0
        else _commented(f'  {brand}: "Brand {brand}"', "write the brand's name as HubSpot shows it")
        for brand in facts.brands
    )
    subscriptions = (
        "".join(f"  {line.ljust(width)}  # {note}\n" for line, note in pasted)
        if pasted
        else "  {}\n"
    )
    return (
        "# yaml-language-server: $schema=schemas/project.schema.json\n"
        f"# Written by hsprefs init from portal {facts.portal_id} on {today.isoformat()}.\n"
        "# Next: hsprefs export --business-unit all --subscribers FILE, then hsprefs plan.\n"
        "version: 1\n"
        "portal:\n"
        + _commented(f"  id: {facts.portal_id}", "plan and apply refuse a token of another portal")
        + gdpr
        + _commented("brands:", "names for reports; HubSpot's API does not give them")
        + brands
        + _commented("subscriptions:", "aliases used in subscriber files; rename before export")
        + subscriptions
        + _commented("policy:", "the mass-change guard, with its defaults")
        + f"  max_change_percent: {policy.max_change_percent:g}\n"
        f"  min_managed: {policy.min_managed}\n"
        f"  max_unsubscribe_all: {policy.max_unsubscribe_all}\n"
        "include:\n"
        f"  - {INCLUDE}\n"
    )


def _note(definition: Definition) -> str:
    parts = [one_line(definition.name)]
    if definition.brand:
        parts.append(f"brand {definition.brand}")
    note = ", ".join(parts)
    return note if definition.is_active else f"{note} (inactive)"


GITIGNORE = """\
# hsprefs' working files: saved plans, the local journal and its lock.
# The journal is consent evidence: keep it (or commit it under journal/, see the README).
.hsprefs/
"""


def readme_text(facts: PortalFacts) -> str:
    """The README stub of the new repository."""
    return f"""\
# Email subscription statuses of HubSpot portal {facts.portal_id}

This repository declares who is subscribed to what, managed with
[hsprefs](https://github.com/OWNER/hsprefs). Keep it private: it holds email addresses.

- `{PROJECT_FILE}`: the portal, brand names, subscription aliases, safety policy.
- `subscribers/*.yaml`: the statuses, one file per brand.
- `schemas/`: the JSON Schemas your editor uses for completion and inline errors.
- `journal/`: the consent evidence of every apply, one file per month (when applied
  from GitHub Actions).

Every change goes through a pull request:

```sh
hsprefs validate                       # no network
hsprefs plan                           # what would change in HubSpot
hsprefs apply                          # asks first; --plan FILE applies a reviewed plan
hsprefs history someone@example.com    # one person's consent history
hsprefs audit --format html -o audit.html
```
"""


def write_repository(folder: Path, facts: PortalFacts, *, today: date) -> list[Path]:
    """Write :data:`FILES` into ``folder`` (created when missing); the paths written.

    Refuses (:func:`check_free`) when any exists, before writing any; a file that
    appears meanwhile is not overwritten either (each is created exclusively).
    """
    check_free(folder)
    contents: list[tuple[str, bytes]] = [
        (PROJECT_FILE, project_text(facts, today).encode("utf-8")),
        (".gitignore", GITIGNORE.encode("utf-8")),
        ("README.md", readme_text(facts).encode("utf-8")),
    ]
    source = schema_dir()
    for name in SCHEMAS:
        contents.append((f"schemas/{name}", (source / name).read_bytes()))
    written: list[Path] = []
    try:
        for name, data in contents:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("xb") as handle:
                handle.write(data)
            written.append(path)
        (folder / "subscribers").mkdir(exist_ok=True)
    except FileExistsError as exc:
        _undo(written)
        raise UsageError(
            f"{exc.filename} exists; init never overwrites a file",
            hint="move it aside or run init in an empty folder; nothing was written",
        ) from None
    except OSError as exc:
        _undo(written)
        raise HsprefsError(
            f"cannot write {exc.filename or folder}: {exc.strerror or exc}",
            hint="check the folder's permissions; nothing was written",
        ) from None
    return written


def _undo(written: Sequence[Path]) -> None:
    for path in written:
        with contextlib.suppress(OSError):
            path.unlink()


def next_steps(folder: Path, facts: PortalFacts, written: Sequence[Path]) -> list[str]:
    """What init says it did and what to do next (for the CLI to print)."""
    inactive = sum(1 for d in facts.definitions if not d.is_active)
    kinds = plural(len(facts.definitions), "subscription type")
    extra = f", {inactive} inactive" if inactive else ""
    shown = str(folder)
    place = "" if shown in (".", "") else f" in {shown}"
    lines = [
        f"Wrote {plural(len(written), 'file')}{place} for portal {facts.portal_id}: "
        f"{PROJECT_FILE} with {kinds} in {plural(len(facts.brands), 'brand')}{extra}, "
        ".gitignore, README.md and schemas/."
    ]
    if facts.gdpr:
        lines.append(
            "gdpr: true was set: HubSpot holds legal bases for the statuses of the "
            "subscribers looked at."
        )
    elif facts.looked_at:
        lines.append(
            f"gdpr was left commented out: none of the {plural(facts.looked_at, 'subscriber')} "
            "looked at has a legal basis in HubSpot; set gdpr: true if the portal's "
            "data-privacy settings are on."
        )
    else:
        lines.append(
            "gdpr was left commented out (give --subscribers FILE to let init tell); set "
            "gdpr: true if the portal's data-privacy settings are on."
        )
    unnamed = [str(b) for b in facts.brands if b != 0]
    step = 1
    lines.append("Next:")
    if unnamed:
        lines.append(
            f"  {step}. name {'brand' if len(unnamed) == 1 else 'brands'} "
            f"{', '.join(unnamed)} under brands: in {PROJECT_FILE}"
        )
        step += 1
    where = "" if shown in (".", "") else f" (in {shown})"
    lines.append(
        f"  {step}. hsprefs export --business-unit all --subscribers FILE{where}: "
        "one file per brand under subscribers/"
    )
    lines.append(f"  {step + 1}. hsprefs plan: shows no changes right after the export")
    return lines
