"""When each declaration was made, read from git: the dates of the newer-change rule.

A declared status was declared when the last commit that changed its declaring line was
made (``git blame``'s committer time); for a group member the later of the member's line
(or roster row) and the group's setting line; a long form counts all its lines. An
entry's ``as_of`` overrides it, and an uncommitted line counts as now
(docs/plan-and-apply.md#a-newer-change-in-hubspot).

Cost: one ``git blame --porcelain`` process per file that declares a pair to date, and
its answer is cached under the project's ``.hsprefs/blame/`` keyed by the file's blob and
the last commit that touched it, so a file of thousands of subscribers is blamed again
only when it changes. Two more git processes per run find the repository and hash the
files, and one per file names its last commit.

Without usable history the rule cannot date anything, and the plan says so once
(:attr:`DesiredState.notes`): outside a git repository (or without git) every
declaration counts as now; in a shallow clone the lines whose commits lie beyond the
clone's boundary are unknown, never guessed.

This module runs git (I/O), so it lives in the config room and not in the pure core.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from reconciler.model import DesiredState, DesiredStatus, PairKey

__all__ = ["NOT_A_REPO", "NO_GIT", "SHALLOW", "date_declarations"]

NOT_A_REPO: Final = (
    "the config is not in a git repository, so the newer-change rule cannot date its "
    "declarations: each counts as made now"
)
NO_GIT: Final = (
    "git is not installed, so the newer-change rule cannot date the config's "
    "declarations: each counts as made now"
)
SHALLOW: Final = (
    "the config's git history is shallow (a clone with --depth, such as actions/checkout's "
    "default fetch-depth: 1), so when its lines were committed is unknown: a pair HubSpot "
    "changed is blocked rather than guessed; fetch the full history (git fetch "
    "--unshallow, or fetch-depth: 0)"
)

# A line's time: seconds since the epoch, _NOW (uncommitted) or _UNKNOWN (shallow).
_NOW: Final = -1
_UNKNOWN: Final = -2
_ZERO: Final = "0" * 40
_CACHE_FORMAT: Final = 1
_GIT_TIMEOUT: Final = 120.0


@dataclass(frozen=True, slots=True)
class _Repo:
    top: Path
    shallow: bool


class _NoGit(Exception):
    """git cannot be run at all."""


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    # Stable output whatever the user's settings: no pager, no localisation.
    env.update({"GIT_PAGER": "cat", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
    try:
        return subprocess.run(  # noqa: S603 - a fixed git command line, no shell
            ["git", *args],  # noqa: S607 - git from PATH, as the user runs it
            cwd=cwd,
            capture_output=True,
            env=env,
            check=False,
            timeout=_GIT_TIMEOUT,
        )
    except FileNotFoundError:
        raise _NoGit from None
    except (OSError, subprocess.TimeoutExpired):
        return subprocess.CompletedProcess(args, 1, b"", b"")


def _repo_of(folder: Path) -> _Repo | None:
    answer = _git(["rev-parse", "--show-toplevel", "--is-shallow-repository"], folder)
    lines = answer.stdout.decode("utf-8", "surrogateescape").splitlines()
    if answer.returncode != 0 or len(lines) < 2:
        return None
    return _Repo(Path(lines[0]), lines[1].strip() == "true")


def parse_blame(text: str, *, shallow: bool) -> list[int]:
    """Per line (index 1 on; index 0 unused) its time from ``git blame --porcelain``:
    the committer time, _NOW for an uncommitted line, _UNKNOWN for a commit at a shallow
    clone's boundary."""
    times: dict[str, int] = {}
    boundary: set[str] = set()
    owner: list[str] = [""]
    sha = ""
    final = 0
    for line in text.split("\n"):
        if not line:
            continue
        if line[0] == "\t":
            while len(owner) <= final:
                owner.append("")
            owner[final] = sha
            continue
        head, _, rest = line.partition(" ")
        if len(head) == 40 and rest[:1].isdigit():
            sha = head
            final = int(rest.split(" ")[1])
        elif head == "committer-time":
            times[sha] = int(rest)
        elif head == "boundary":
            boundary.add(sha)
    out = [_NOW] * len(owner)
    for number, commit in enumerate(owner):
        if not commit or commit == _ZERO:
            out[number] = _NOW
        elif shallow and commit in boundary:
            out[number] = _UNKNOWN
        else:
            out[number] = times.get(commit, _NOW)
    return out


class _Blamer:
    """Blames files of one run, once each, through the cache."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir
        self.repos: dict[Path, _Repo | None] = {}
        self.no_git = False
        self.outside = False
        self.shallow = False

    def repo(self, folder: Path) -> _Repo | None:
        if folder not in self.repos:
            self.repos[folder] = None if self.no_git else _repo_of(folder)
        return self.repos[folder]

    def blame_all(self, files: Iterable[str]) -> dict[str, list[int] | None]:
        """file -> per-line times; None: the file cannot be dated (counts as now)."""
        table: dict[str, list[int] | None] = {}
        by_repo: dict[_Repo, list[tuple[str, Path]]] = {}
        for name in files:
            path = Path(name)
            table[name] = None
            if not path.is_file():
                continue
            try:
                repo = self.repo(path.resolve().parent)
            except _NoGit:
                self.no_git = True
                continue
            if repo is None:
                self.outside = True
                continue
            by_repo.setdefault(repo, []).append((name, path.resolve()))
        for repo, members in by_repo.items():
            self.shallow = self.shallow or repo.shallow
            blobs = self._blobs(repo, [path for _, path in members])
            for (name, path), blob in zip(members, blobs, strict=True):
                table[name] = self._blame(repo, path, blob)
        return table

    def _blobs(self, repo: Path | _Repo, paths: Sequence[Path]) -> list[str]:
        top = repo.top if isinstance(repo, _Repo) else repo
        answer = _git(["hash-object", "--", *map(str, paths)], top)
        found = answer.stdout.decode("ascii", "replace").split()
        return found if answer.returncode == 0 and len(found) == len(paths) else [""] * len(paths)

    def _blame(self, repo: _Repo, path: Path, blob: str) -> list[int]:
        relative = str(path.relative_to(repo.top)) if path.is_relative_to(repo.top) else str(path)
        last = _git(["rev-list", "-1", "HEAD", "--", relative], repo.top)
        commit = last.stdout.decode("ascii", "replace").strip() if last.returncode == 0 else ""
        if not commit:
            # Never committed (or a repository without commits): every line is new.
            return []
        key = hashlib.sha256(
            f"{_CACHE_FORMAT}:{commit}:{blob}:{repo.shallow}".encode()
        ).hexdigest()[:40]
        cached = self._read_cache(key) if blob else None
        if cached is not None:
            return cached
        answer = _git(["blame", "--porcelain", "--", relative], repo.top)
        if answer.returncode != 0:
            return []
        times = parse_blame(answer.stdout.decode("utf-8", "surrogateescape"), shallow=repo.shallow)
        if blob:
            self._write_cache(key, times)
        return times

    def _read_cache(self, key: str) -> list[int] | None:
        if self.cache_dir is None:
            return None
        try:
            data = json.loads((self.cache_dir / f"{key}.json").read_text("ascii"))
        except (OSError, ValueError):
            return None
        times = data.get("times") if isinstance(data, dict) else None
        if isinstance(times, list) and all(type(t) is int for t in times):
            return times
        return None

    def _write_cache(self, key: str, times: list[int]) -> None:
        # The cache only saves time: a folder that cannot be written is no error.
        if self.cache_dir is None:
            return
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            ignore = self.cache_dir / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# hsprefs' cache of git blame answers\n*\n", "ascii")
            target = self.cache_dir / f"{key}.json"
            temporary = target.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps({"times": times}, separators=(",", ":")), "ascii")
            temporary.replace(target)
        except OSError:
            return


def _time_of(want: DesiredStatus, table: Mapping[str, list[int] | None]) -> int:
    """The declaration time of one status from the per-line times: seconds since the
    epoch, _NOW or _UNKNOWN (``as_of`` is the caller's business)."""
    where = want.location
    if where is None:
        return _NOW
    spans: list[tuple[str, int, int]]
    if want.set_location is not None:
        spot = want.set_location
        spans = [
            (where.file, where.line, where.line),
            (spot.file, spot.line, max(spot.line, want.last_line)),
        ]
    else:
        spans = [(where.file, where.line, max(where.line, want.last_line))]
    latest = _NOW
    unknown = False
    for file, first, last in spans:
        times = table.get(file)
        if not times:
            return _NOW
        for number in range(first, last + 1):
            moment = times[number] if number < len(times) else _NOW
            if moment == _NOW:
                return _NOW
            if moment == _UNKNOWN:
                unknown = True
            else:
                latest = max(latest, moment)
    return _UNKNOWN if unknown else latest


def date_declarations(
    desired: DesiredState,
    only: Iterable[DesiredStatus] | None = None,
    *,
    cache_dir: Path | None = None,
) -> DesiredState:
    """``desired`` with :attr:`~DesiredState.declared` filled in for its statuses (or
    ``only`` those) that git can date (a time) or cannot tell (None: a shallow clone),
    and ``notes`` saying once why declarations could not be dated, if they could not.

    Only the pairs whose live status differs need a date, so callers pass those: a plan
    without differences runs no git at all. ``cache_dir`` holds the blame cache
    (default: ``.hsprefs/blame`` beside the project file).
    """
    chosen = [
        (want.key, want)
        for want in (desired.statuses.values() if only is None else only)
        if want.as_of is None
    ]
    if not chosen:
        return desired
    if cache_dir is None and desired.files:
        cache_dir = Path(desired.files[0]).parent / ".hsprefs" / "blame"
    files: dict[str, None] = {}
    for _key, want in chosen:
        if want.location is not None:
            files.setdefault(want.location.file)
        if want.set_location is not None:
            files.setdefault(want.set_location.file)
    blamer = _Blamer(cache_dir)
    table = blamer.blame_all(files)
    declared: dict[PairKey, datetime | None] = dict(desired.declared)
    moments: dict[int, datetime] = {}
    for key, want in chosen:
        where = want.location
        if where is not None and want.set_location is None and want.last_line <= where.line:
            # The common case, a one-line entry, without the general span walk.
            times = table.get(where.file)
            seconds = times[where.line] if times and where.line < len(times) else _NOW
        else:
            seconds = _time_of(want, table)
        if seconds == _NOW:
            continue
        if seconds == _UNKNOWN:
            declared[key] = None
            continue
        moment = moments.get(seconds)
        if moment is None:
            moment = moments[seconds] = datetime.fromtimestamp(seconds, UTC)
        declared[key] = moment
    notes = list(desired.notes)
    if blamer.no_git:
        notes.append(NO_GIT)
    elif blamer.outside:
        notes.append(NOT_A_REPO)
    if blamer.shallow:
        notes.append(SHALLOW)
    return replace(desired, declared=declared, notes=tuple(dict.fromkeys(notes)))
