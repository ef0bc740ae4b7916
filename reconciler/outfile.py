"""Writing an output file (``-o``) whole or not at all, and never replacing what is not a
file.

Two ways, chosen by what the target is:

- **A new path or an existing regular file** is written to a temporary file in the same
  folder (mode 0600), fsynced, and moved over the target with :func:`os.replace`: a
  reader sees the old content or the new, never half. Through a symbolic link the file
  it points to is replaced and the link stays.
- **An existing target that is not a regular file** (a device such as ``/dev/null``, a
  FIFO) **or a path under /dev or /proc** (``/dev/stdout``, ``/dev/fd/3``: a stream the
  shell opened) is written into in place: the content is spooled to a temporary file
  first, so an error part-way sends nothing, then appended to the target, which is never
  truncated, replaced or re-moded.

Every failure is one :class:`HsprefsError` naming the path and the OS error (``No
space left on device`` from ``/dev/full``, a missing or read-only folder), with nothing
left behind. :func:`check_output` makes the checks that need no writing, so a command
can refuse before it reads HubSpot.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from reconciler.errors import HsprefsError

__all__ = ["check_output", "in_place", "open_output", "write_output"]

# Errors a write itself can meet, as opposed to errors of the work producing the content.
_WRITE_ERRNOS = frozenset(
    code
    for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG, errno.EIO)
    if code is not None
)
# Where a regular file is an open stream of the caller's shell rather than a document.
_STREAM_ROOTS = ("/dev/", "/proc/")


def _cannot(
    path: Path,
    what: str,
    reason: str,
    *,
    hint: str = "give -o a path you can write; nothing was written",
) -> HsprefsError:
    return HsprefsError(f"cannot write {what} {path}: {reason}", hint=hint)


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def in_place(path: Path) -> bool:
    """Whether ``path`` is written into in place rather than replaced (see the module
    docstring): it exists and is not a regular file, or it lies under /dev or /proc."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return True
    return os.path.abspath(path).startswith(_STREAM_ROOTS)


def check_output(path: Path, *, what: str = "file") -> None:
    """Refuse, without writing anything, an output path that cannot be written: a
    folder, a missing or unwritable folder, a target that cannot be opened for writing."""
    if path.is_dir():
        raise _cannot(path, what, "it is a folder")
    if in_place(path):
        if not os.access(path, os.W_OK):
            raise _cannot(path, what, os.strerror(errno.EACCES))
        return
    folder = Path(os.path.realpath(path)).parent
    shown = path.parent
    if not folder.exists():
        raise _cannot(
            path,
            what,
            f"the folder {shown} does not exist",
            hint="create it first or give -o another path; nothing was written",
        )
    if not folder.is_dir():
        raise _cannot(path, what, f"{shown} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _cannot(path, what, f"the folder {shown} is not writable")


@contextlib.contextmanager
def open_output(path: Path, *, what: str = "file") -> Iterator[TextIO]:
    """A text stream whose content reaches ``path`` only if the block ends without an
    error: replaced atomically, or written in place (see the module docstring)."""
    check_output(path, what=what)
    if in_place(path):
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as spool:
            with _write_errors(path, what):
                yield spool
            spool.seek(0)
            try:
                # Append, never truncate: /dev/stdout may be a file the shell opened
                # with >>, and a device or FIFO has nothing to truncate.
                with open(path, "a", encoding="utf-8", newline="\n") as target:
                    shutil.copyfileobj(spool, target)
            except OSError as exc:
                # Part of it may have reached a reader already: no "nothing was written".
                raise _cannot(path, what, _why(exc), hint="give -o a path you can write") from None
        return
    real = Path(os.path.realpath(path))
    try:
        handle, name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    except OSError as exc:
        raise _cannot(path, what, _why(exc)) from None
    temp = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            with _write_errors(path, what):
                yield stream
            try:
                stream.flush()
                os.fsync(stream.fileno())
            except OSError as exc:
                raise _cannot(path, what, _why(exc)) from None
        try:
            os.replace(temp, real)
        except OSError as exc:
            raise _cannot(path, what, _why(exc)) from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _write_errors(path: Path, what: str) -> Iterator[None]:
    """A full disk met while the block writes its content is this file's error."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _WRITE_ERRNOS:
            raise _cannot(path, what, _why(exc)) from None
        raise


def write_output(path: Path, text: str, *, what: str = "file") -> None:
    """Write ``text`` to ``path`` whole or not at all (see :func:`open_output`)."""
    with open_output(path, what=what) as stream:
        stream.write(text)
