"""The loading pipeline: find the project, read its files, validate, build DesiredState.

One :class:`_Run` per call of :func:`check`: it finds the project as
docs/architecture.md#config-language says, reads every included file once (bounded, see
:mod:`._files`), parses it (:mod:`._yaml`), validates it against its schema
(:mod:`._schema`), interprets it (:mod:`._project`, :mod:`._subscribers`) and merges the
claims (:mod:`._claims`). It collects every finding instead of stopping at the first.

Paths: every file in findings, locations and ``DesiredState.files`` is shown as the user
knows it, relative to the current directory when under it, else absolute. The digest is
computed over project-relative paths, so it does not depend on where hsprefs runs.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from reconciler.config._claims import Claims
from reconciler.config._files import (
    MAX_FILES,
    MAX_TOTAL_BYTES,
    PROJECT_FILE,
    FileProblem,
    bad_name,
    cannot,
    check_pattern,
    expand,
    find_project_upwards,
    inside,
    read_bounded,
)
from reconciler.config._project import Project, read_project
from reconciler.config._roster import Member, read_roster
from reconciler.config._schema import PROJECT_SCHEMA, SUBSCRIBERS_SCHEMA, validate
from reconciler.config._subscribers import RosterReader, read_subscribers
from reconciler.config._text import display_path, quote
from reconciler.config._yaml import Document, YamlMap, parse
from reconciler.errors import Finding
from reconciler.model import DesiredState

__all__ = ["check_paths"]

_PROJECT_KEYS: Final = frozenset({"include", "subscriptions", "portal", "policy"})


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading builds millions of acyclic objects: the cyclic GC only slows that down."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_paths(
    paths: Sequence[Path | str],
    now: datetime,
    *,
    empty_includes: bool = False,
    project_only: bool = False,
) -> tuple[DesiredState | None, list[Finding]]:
    """Run the whole pipeline; the state is None when any finding is an error.

    ``empty_includes`` lets an include pattern match no file (export into a new config
    repository, whose subscriber files do not exist yet); otherwise that is an error.
    ``project_only`` reads the project file alone (its includes are not read): a state
    with its aliases, portal, policy and brand names, and no statuses.
    """
    with _gc_paused():
        run = _Run(now)
        run.empty_includes = empty_includes or project_only
        run.project_only = project_only
        state = run.go([Path(p) for p in paths])
    findings = _tidy(run.findings)
    if any(f.severity == "error" for f in findings):
        return None, findings
    return state, findings


def _tidy(findings: list[Finding]) -> list[Finding]:
    """Sorted by file, line, column; exact repeats and schema echoes of YAML errors dropped."""
    yaml_spots = {(f.file, f.line, f.column) for f in findings if f.code.startswith("yaml-")}
    kept = {
        f for f in findings if not (f.code == "schema" and (f.file, f.line, f.column) in yaml_spots)
    }
    return sorted(kept, key=lambda f: (f.file, f.line, f.column, f.message))


class _Run:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.cwd = Path.cwd()
        self.findings: list[Finding] = []
        self.docs: dict[Path, tuple[Document, bytes]] = {}
        self.read: dict[Path, tuple[str, bytes]] = {}  # resolved path -> (shown, bytes)
        self.total = 0
        self.root = self.cwd
        self.rosters: dict[Path, tuple[list[Member], str]] = {}
        self.used: list[str] = []  # files that make up the state, in reading order
        self.empty_includes = False
        self.project_only = False

    def shown(self, path: Path) -> str:
        return display_path(path, self.cwd)

    def problem(self, path: Path, message: str, code: str = "file") -> None:
        self.findings.append(Finding(self.shown(path), 1, 1, message, code=code))

    # -- files -------------------------------------------------------------------------

    def load_bytes(self, path: Path) -> bytes:
        """Read a file once per run, counting it against the total budget."""
        key = path.resolve()
        if key in self.read:
            return self.read[key][1]
        data = read_bounded(path)
        self.total += len(data)
        if self.total > MAX_TOTAL_BYTES:
            raise FileProblem(
                f"the project's files add up to more than {MAX_TOTAL_BYTES // 1048576} MB"
            )
        self.read[key] = (self.shown(path), data)
        return data

    def document(self, path: Path, *, quiet: bool = False) -> Document | None:
        """The parsed file; a file that cannot be read is a finding unless ``quiet``."""
        key = path.resolve()
        if key in self.docs:
            return self.docs[key][0]
        try:
            data = self.load_bytes(path)
        except FileProblem as exc:
            if not quiet:
                self.problem(path, f"{exc}", "file")
            return None
        doc = parse(data, self.shown(path))
        self.docs[key] = (doc, data)
        return doc

    # -- discovery ---------------------------------------------------------------------

    def targets(self, paths: list[Path]) -> tuple[Path | None, list[Path] | None]:
        """The project file and the subscriber files given alone (None: the whole project)."""
        if not paths:
            default = self.cwd / PROJECT_FILE
            if not default.is_file():
                self.problem(
                    default,
                    f"no {PROJECT_FILE} in the current folder; run hsprefs in the config "
                    "repository or give a PATH",
                    "not-found",
                )
                return None, None
            return default, None
        project: Path | None = None
        selected: list[Path] | None = []
        for given in paths:
            path = Path(os.path.abspath(given))
            found, alone = self._target(path)
            if found is None:
                continue
            if project is not None and found.resolve() != project.resolve():
                self.problem(
                    path,
                    f"belongs to the project {self.shown(found)}, not {self.shown(project)}; "
                    "validate one project at a time",
                    "paths",
                )
                continue
            project = found
            if alone is None:
                selected = None
            elif selected is not None:
                selected.append(alone)
        return project, selected

    def _target(self, path: Path) -> tuple[Path | None, Path | None]:
        if bad_name(path, self.cwd):
            self.problem(path, "its name is not valid UTF-8; rename it", "paths")
            return None, None
        try:
            is_dir = stat.S_ISDIR(path.stat().st_mode)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                message = (
                    "no such file or folder; check the path: give the project folder, its "
                    f"{PROJECT_FILE}, or a subscriber file it includes"
                )
            else:
                message = cannot(exc)
            self.problem(path, message, "not-found")
            return None, None
        if is_dir:
            project = path / PROJECT_FILE
            if not project.is_file():
                self.problem(
                    project,
                    f"no {PROJECT_FILE} in the folder {self.shown(path)}; give the project "
                    "folder or its project file",
                    "not-found",
                )
                return None, None
            return project, None
        if path.name == PROJECT_FILE:
            return path, None
        doc = self.document(path)
        if doc is not None and isinstance(doc.root, YamlMap) and _PROJECT_KEYS & set(doc.root):
            return path, None
        upwards = find_project_upwards(path.parent)
        if upwards is None:
            self.problem(
                path,
                f"no {PROJECT_FILE} in its folder or any parent; a subscriber file is "
                "validated against the project that includes it",
                "not-found",
            )
            return None, None
        return upwards, path

    # -- the pipeline ------------------------------------------------------------------

    def go(self, paths: list[Path]) -> DesiredState | None:
        project_path, selected = self.targets(paths)
        if project_path is None:
            return None
        self.root = project_path.parent
        doc = self.document(project_path)
        if doc is None:
            return None
        self.findings.extend(doc.findings)
        if doc.broken:
            return None
        if not isinstance(doc.root, YamlMap):
            self.findings.append(
                Finding(
                    doc.file,
                    1,
                    1,
                    "the project file must be a mapping with version: 1",
                    code="schema",
                )
            )
            return None
        self.findings.extend(validate(doc, PROJECT_SCHEMA))
        self.used.append(doc.file)
        project = read_project(doc.root, doc.file)
        self.findings.extend(project.findings)
        files = [] if self.project_only else self.includes(project, project_path, selected)
        claims = Claims()
        when_cache: dict[str, datetime | None] = {}
        for path in files:
            self.subscribers(path, project, claims, when_cache)
            # Nothing reads a subscriber file twice: dropping its values now keeps one
            # file's worth of them alive instead of all (most of a big run's memory).
            self.docs.pop(path.resolve(), None)
        statuses, opt_outs = claims.finish()
        self.findings.extend(claims.findings)
        return DesiredState(
            statuses=statuses,
            opt_outs=opt_outs,
            subscriptions=project.aliases,
            portal=project.portal,
            policy=project.policy,
            files=tuple(dict.fromkeys(self.used)),
            digest=self.digest(),
            unresolved=frozenset(a for a, ref in project.aliases.items() if ref.id is None),
            brand_names=project.brand_names,
        )

    def subscribers(
        self,
        path: Path,
        project: Project,
        claims: Claims,
        when_cache: dict[str, datetime | None],
    ) -> None:
        """Parse, validate and interpret one subscriber file into ``claims``."""
        sub = self.document(path)
        if sub is None:
            return
        self.findings.extend(sub.findings)
        self.used.append(sub.file)
        if sub.broken:
            return
        if not isinstance(sub.root, YamlMap):
            message = "a subscriber file must be a mapping with version: 1"
            self.findings.append(Finding(sub.file, 1, 1, message, code="schema"))
            return
        self.findings.extend(validate(sub, SUBSCRIBERS_SCHEMA))
        self.findings.extend(
            read_subscribers(
                sub.root,
                sub.file,
                project,
                claims,
                now=self.now,
                when_cache=when_cache,
                read_roster=self.roster_reader(path.parent, sub.file),
            )
        )

    def includes(
        self, project: Project, project_path: Path, selected: list[Path] | None
    ) -> list[Path]:
        """The subscriber files to read: every included file, or the selected ones."""
        matched: dict[Path, Path] = {}
        troubled = False  # an include could not be expanded: what it matches is unknown
        own = project_path.resolve()
        for include in project.includes:
            spot = (project.file, include.line, include.column)
            pattern = quote(include.pattern, 60)
            why = check_pattern(include.pattern)
            if why is not None:
                self.findings.append(Finding(*spot, f"include {pattern}: {why}", code="include"))
                continue
            found = expand(self.root, include.pattern, MAX_FILES - len(matched))
            for where, problem in found.problems:
                named = f"{self.shown(where)}: " if where is not None else ""
                self.findings.append(
                    Finding(*spot, f"include {pattern}: {named}{problem}", code="include")
                )
            if found.problems:
                troubled = True
                continue
            files = [p for p in found.files if p.resolve() != own]
            if not files and not self.empty_includes:
                self.findings.append(
                    Finding(
                        *spot,
                        f"include {pattern} matches no files; fix the pattern, or write the "
                        "first subscriber file (hsprefs export writes one)",
                        code="include",
                    )
                )
            for path in files:
                if not inside(path, self.root):
                    self.findings.append(
                        Finding(
                            *spot,
                            f"include {pattern}: {self.shown(path)} lies outside the project "
                            "folder (through a symbolic link); move it inside",
                            code="include",
                        )
                    )
                    continue
                matched.setdefault(path.resolve(), path)
        if selected is None:
            return [matched[k] for k in sorted(matched, key=lambda p: str(matched[p]))]
        chosen: list[Path] = []
        for path in selected:
            if path.resolve() in matched:
                chosen.append(path)
            elif not troubled:
                self.not_included(path, project, matched)
        return chosen

    def not_included(self, path: Path, project: Project, matched: dict[Path, Path]) -> None:
        """Say why a file given alone is not read: a roster, or a file not included."""
        named_by = self.roster_of(path, matched)
        if named_by is not None:
            file, line, column, group = named_by
            self.problem(
                path,
                f"this is the roster of group {quote(group, 40)} (members_file at "
                f"{file}:{line}:{column}); a roster is checked through the file that names "
                f"it: validate that file or the project ({project.file})",
                "include",
            )
            return
        if path.suffix.lower() not in (".yaml", ".yml"):
            self.problem(
                path,
                f"{project.file} does not include this file and no group names it as its "
                f"members_file; give the project folder, {project.file} or a subscriber file "
                "it includes",
                "include",
            )
            return
        self.problem(
            path,
            f"{project.file} does not include this file, so plan and apply would "
            "ignore it; add a pattern that matches it to 'include'",
            "include",
        )

    def roster_of(self, path: Path, matched: dict[Path, Path]) -> tuple[str, int, int, str] | None:
        """Where an included file names ``path`` as a group's ``members_file``, if any."""
        target = path.resolve()
        for key in sorted(matched, key=lambda k: str(matched[k])):
            included = matched[key]
            doc = self.document(included, quiet=True)
            if doc is None or not isinstance(doc.root, YamlMap):
                continue
            groups = doc.root.get("groups")
            if not isinstance(groups, YamlMap):
                continue
            for name, group in groups.items():
                if not isinstance(group, YamlMap):
                    continue
                roster = group.get("members_file")
                if not isinstance(roster, str) or check_pattern(roster, "") is not None:
                    continue
                if (included.parent / roster).resolve() == target:
                    line, column = group.locs["members_file"][2:]
                    return doc.file, line, column, name
        return None

    def roster_reader(self, folder: Path, file: str) -> RosterReader:
        """A reader of the rosters named in one subscriber file."""

        def read(value: str, line: int, column: int) -> tuple[list[Member], str]:
            return self.roster(folder, file, value, line, column)

        return read

    def roster(
        self, folder: Path, file: str, value: str, line: int, column: int
    ) -> tuple[list[Member], str]:
        """Members of a ``members_file``; problems become findings at the reference."""
        spot = (file, line, column)
        why = check_pattern(value, "roster paths")
        if why is not None:
            self.findings.append(
                Finding(*spot, f"members_file {quote(value)}: {why}", code="roster")
            )
            return [], ""
        path = Path(os.path.abspath(folder / value))
        if not inside(path, self.root):
            self.findings.append(
                Finding(
                    *spot,
                    f"members_file {quote(value)} lies outside the project folder; move it inside",
                    code="roster",
                )
            )
            return [], ""
        key = path.resolve()
        if key in self.rosters:
            return self.rosters[key]
        try:
            data = self.load_bytes(path)
        except FileProblem as exc:
            fix = "; check the path, which is relative to this file" if exc.missing else ""
            self.findings.append(
                Finding(*spot, f"members_file {quote(value)}: {exc}{fix}", code="roster")
            )
            self.rosters[key] = ([], self.shown(path))
            return self.rosters[key]
        members, problems = read_roster(data, self.shown(path))
        self.findings.extend(problems)
        self.used.append(self.shown(path))
        self.rosters[key] = (members, self.shown(path))
        return self.rosters[key]

    def digest(self) -> str:
        """sha256 over sorted ``<sha256 of bytes>  <project-relative path>`` lines."""
        lines = []
        root = self.root.resolve()
        for resolved, (_shown, data) in self.read.items():
            try:
                name = resolved.relative_to(root).as_posix()
            except ValueError:
                name = resolved.as_posix()
            lines.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
        # surrogateescape: a name with non-UTF-8 bytes (refused with a finding) is hashed
        # as its bytes rather than crashing the run.
        return hashlib.sha256("".join(sorted(lines)).encode("utf-8", "surrogateescape")).hexdigest()


def now_utc(today: datetime | None) -> datetime:
    """``today`` as an aware UTC datetime (naive means UTC); the clock when None."""
    if today is None:
        return datetime.now(UTC)
    return today.replace(tzinfo=UTC) if today.tzinfo is None else today.astimezone(UTC)
