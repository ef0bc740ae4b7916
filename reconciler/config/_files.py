"""Finding and reading the files of a project, with hard limits.

Reading is bounded everywhere, so hostile trees are harmless: a file larger than
:data:`MAX_FILE_BYTES` is refused before it is read, a project may include at most
:data:`MAX_FILES` files, an ``include`` pattern may look at no more than
:data:`MAX_SCAN` directory entries, ``**`` never follows a symbolic link to a folder,
every folder is entered at most once (symlink loops end), and every file must lie
inside the project folder after symbolic links are resolved.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Final

__all__ = [
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MAX_SCAN",
    "MAX_TOTAL_BYTES",
    "PROJECT_FILE",
    "Expansion",
    "FileProblem",
    "bad_name",
    "cannot",
    "expand",
    "find_project_upwards",
    "read_bounded",
]

PROJECT_FILE: Final = "hsprefs.yaml"
MAX_FILE_BYTES: Final = 32 * 1024 * 1024
MAX_TOTAL_BYTES: Final = 512 * 1024 * 1024
MAX_FILES: Final = 1000
MAX_SCAN: Final = 100_000
_MAGIC = frozenset("*?[")


class FileProblem(Exception):
    """A file cannot be used; the message says why, in words for the user.

    ``missing`` is set when the file does not exist, so a caller can say where to look.
    """

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EISDIR:
        return "it is a folder"
    return exc.strerror or type(exc).__name__


def cannot(exc: OSError, what: str = "read it") -> str:
    """``cannot read it: permission denied; <what to do>`` for an OS error."""
    why = _why(exc)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot {what}: {why}; give the user running hsprefs read access to it"
    if exc.errno == errno.ELOOP:
        return f"{why}; fix the link or remove it"
    return f"cannot {what}: {why}"


def bad_name(path: Path, root: Path) -> bool:
    """Whether ``path`` (below ``root``) has a name that is not valid UTF-8.

    Python keeps such bytes as lone surrogates; they cannot be printed, written to a
    plan or a journal, or compared with what a user types, so the file is refused.
    """
    try:
        rest = path.relative_to(root)
    except ValueError:
        rest = path
    try:
        str(rest).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else :class:`FileProblem`."""
    try:
        info = path.stat()
    except OSError as exc:
        raise FileProblem(cannot(exc), missing=exc.errno == errno.ENOENT) from None
    if stat.S_ISDIR(info.st_mode):
        raise FileProblem("this is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem("this is not a regular file")
    if info.st_size > limit:
        raise FileProblem(
            f"the file is {info.st_size / 1048576:.1f} MB; a file may be at most "
            f"{limit // 1048576} MB (split it into several files)"
        )
    try:
        # Non-blocking, and checked again once open: a file swapped for a FIFO after the
        # stat above would otherwise block the open (and the run) until a writer came.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise FileProblem(cannot(exc)) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileProblem("this is not a regular file")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise FileProblem(cannot(exc)) from None
    if len(data) > limit:
        raise FileProblem(f"the file grew past {limit // 1048576} MB while being read")
    return data


def find_project_upwards(start: Path) -> Path | None:
    """The nearest ``hsprefs.yaml`` in ``start`` or a parent folder."""
    here = Path(os.path.abspath(start))
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with symbolic links resolved, lies inside ``root``."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):
        return False


@dataclass(slots=True)
class Expansion:
    """What one ``include`` pattern matched, or why it could not be expanded.

    Each problem is ``(path, message)``: the file or folder it is about (None when it
    is about the pattern as a whole), so the caller can show the path as the user knows
    it. Nothing met while expanding is passed over in silence: a folder that cannot be
    listed could hold subscribers, so it is a problem, never an empty folder.
    """

    files: list[Path] = field(default_factory=list)
    problems: list[tuple[Path | None, str]] = field(default_factory=list)
    scanned: int = 0


def check_pattern(pattern: str, what: str = "patterns") -> str | None:
    """Why an include pattern (or a relative path: ``what``) is not acceptable, or None."""
    if "\x00" in pattern:
        # No file name can hold one, and the OS calls refuse it outright.
        return "a path cannot contain a NUL character (\\x00); remove it"
    if "\\" in pattern:
        return "use '/' to separate folders"
    posix = PurePosixPath(pattern)
    if posix.is_absolute() or (len(pattern) > 1 and pattern[1] == ":"):
        return f"{what} are relative to the file they are written in; remove the leading '/'"
    if ".." in posix.parts:
        return f"{what} may not leave the project folder ('..')"
    return None


def expand(root: Path, pattern: str, budget: int) -> Expansion:
    """Files under ``root`` matching ``pattern``, sorted, at most ``budget`` of them.

    ``*``, ``?`` and ``[...]`` match within one folder name (not names starting with a
    dot unless the pattern does), ``**`` matches any number of folders.
    """
    walker = _Walker(root, pattern, budget)
    result = walker.result
    try:
        walker.walk(root, 0)
    except _TooMany:
        if result.scanned > MAX_SCAN:
            result.problems.append(
                (None, f"it looks at more than {MAX_SCAN:,} folder entries; make it more specific")
            )
        else:
            result.problems.append(
                (
                    None,
                    f"with the patterns before it, it makes the project include more than "
                    f"{MAX_FILES:,} files, the most a project may include; merge small files",
                )
            )
        return result
    result.files = sorted(walker.found)
    return result


class _Walker:
    """One pattern's walk: the folders listed once each, the files found, the problems."""

    def __init__(self, root: Path, pattern: str, budget: int) -> None:
        self.root = root
        self.budget = budget
        self.parts = [p for p in PurePosixPath(pattern).parts if p not in ("", ".")]
        self.result = Expansion()
        self.found: set[Path] = set()
        self.listings: dict[tuple[int, int], list[os.DirEntry[str]]] = {}
        self.visited: set[tuple[int, int, int]] = set()

    def identity(self, folder: Path) -> tuple[int, int] | None:
        try:
            info = folder.stat()
        except OSError as exc:
            # A folder that vanished since it was listed holds nothing to match.
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                self.result.problems.append((folder, cannot(exc, "open this folder")))
            return None
        return (info.st_dev, info.st_ino)

    def scan(self, ident: tuple[int, int], folder: Path) -> list[os.DirEntry[str]]:
        if ident in self.listings:
            return self.listings[ident]
        listed: list[os.DirEntry[str]] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    self.result.scanned += 1
                    if self.result.scanned > MAX_SCAN:
                        raise _TooMany
                    listed.append(entry)
        except OSError as exc:
            self.result.problems.append((folder, cannot(exc, "list this folder")))
        listed.sort(key=lambda e: e.name)
        self.listings[ident] = listed
        return listed

    def is_dir(self, entry: os.DirEntry[str], *, follow: bool) -> bool:
        try:
            return entry.is_dir(follow_symlinks=follow)
        except OSError as exc:
            self.result.problems.append((Path(entry.path), cannot(exc, "open it")))
            return False

    def add(self, path: Path) -> None:
        if path in self.found:
            return
        if bad_name(path, self.root):
            self.result.problems.append((path, "its name is not valid UTF-8; rename it"))
            return
        self.found.add(path)
        if len(self.found) > self.budget:
            raise _TooMany

    def walk(self, folder: Path, index: int) -> None:
        parts = self.parts
        if index == len(parts):
            return
        ident = self.identity(folder)
        # Each (folder, pattern position) is visited once: symlink loops end here.
        if ident is None or (*ident, index) in self.visited:
            return
        self.visited.add((*ident, index))
        part = parts[index]
        last = index == len(parts) - 1
        if part == "**":
            self.walk(folder, index + 1)
            for entry in self.scan(ident, folder):
                if not entry.name.startswith(".") and self.is_dir(entry, follow=False):
                    self.walk(Path(entry.path), index)
            return
        if not (_MAGIC & set(part)):
            child = folder / part
            if last:
                _match_file(child, self.add, self.result)
            elif _is_folder(child, self.result):
                self.walk(child, index + 1)
            return
        for entry in self.scan(ident, folder):
            name = entry.name
            if name.startswith(".") and not part.startswith("."):
                continue
            if not fnmatchcase(name, part):
                continue
            child = Path(entry.path)
            if last:
                _match_file(child, self.add, self.result)
            elif self.is_dir(entry, follow=True):
                self.walk(child, index + 1)


class _TooMany(Exception):
    pass


def _is_folder(path: Path, result: Expansion) -> bool:
    """Whether a folder named by the pattern exists; a folder that cannot be opened is a
    problem (a missing one is not: the pattern then matches nothing there)."""
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            result.problems.append((path, cannot(exc, "open this folder")))
        return False


def _match_file(path: Path, add: Callable[[Path], None], result: Expansion) -> None:
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and not path.is_symlink():
            return
        if exc.errno == errno.ENOENT:
            message = "it is a broken symbolic link; fix the link or remove it"
        else:
            message = cannot(exc, "open it")
        result.problems.append((path, message))
        return
    if stat.S_ISREG(info.st_mode):
        add(path)
    elif not stat.S_ISDIR(info.st_mode):
        # A device, a FIFO or a socket is never a config file, and reading one could
        # block or never end: say so rather than pass over it.
        result.problems.append(
            (path, "this is not a regular file (a FIFO, a device or a socket); remove it")
        )
