"""The apply lock: one apply at a time per journal.

Two applies of the same plan started together would both pass the stale check and both
write. :func:`journal_lock` holds ``<journal>.lock``, next to the journal, from before
the stale check until the report is printed; a second apply is refused at once, naming
the lock and the process holding it. Where there is ``fcntl`` the lock is a ``flock``
on that file, which the system releases however the process ends (the file stays, with
the holder's pid in it while held); elsewhere it is a file created with ``O_EXCL``
holding the pid and removed at the end (a crashed run leaves it, and the refusal says
to delete it when no apply is running).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from reconciler.errors import HsprefsError

try:
    import fcntl
except ImportError:  # Windows: the lock is an O_EXCL file instead
    fcntl = None  # type: ignore[assignment]

__all__ = ["journal_lock"]


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _has_flock() -> bool:
    return fcntl is not None


@contextlib.contextmanager
def journal_lock(path: Path) -> Iterator[Path]:
    """Hold ``<journal>.lock`` (next to the journal) while the block runs.

    Raises :class:`HsprefsError` naming the lock, and the process holding it when its
    pid is known, if another apply holds it. Never waits.
    """
    lock = path.with_name(path.name + ".lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HsprefsError(
            f"cannot create the journal's folder {lock.parent}: {_why(exc)}",
            hint="pass --journal FILE with a writable path; nothing was sent",
        ) from None
    if _has_flock():
        with _flock(lock):
            yield lock
    else:
        with _exclusive_file(lock):
            yield lock


def _held(lock: Path, pid: int | None, *, stale_hint: bool) -> HsprefsError:
    who = f" (pid {pid})" if pid else ""
    hint = "wait for it to finish: two applies at once could both pass the stale check"
    if stale_hint:
        hint += f"; if no apply is running, delete {lock}"
    return HsprefsError(f"another hsprefs apply{who} holds the lock {lock}", hint=hint)


def _pid(data: bytes) -> int | None:
    text = data.decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def _cannot_lock(lock: Path, exc: OSError) -> HsprefsError:
    return HsprefsError(
        f"cannot take the lock {lock}: {_why(exc)}",
        hint="pass --journal FILE in a folder you can write; nothing was sent",
    )


@contextlib.contextmanager
def _flock(lock: Path) -> Iterator[None]:
    assert fcntl is not None
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _cannot_lock(lock, exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with contextlib.suppress(OSError):
                os.lseek(fd, 0, os.SEEK_SET)
                raise _held(lock, _pid(os.read(fd, 32)), stale_hint=False) from None
            raise _held(lock, None, stale_hint=False) from None
        except OSError as exc:
            raise _cannot_lock(lock, exc) from None
        # The pid only names the holder in the refusal; the lock is the flock, which
        # the system drops when this process ends however it ends.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _exclusive_file(lock: Path) -> Iterator[None]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(lock, flags, 0o600)
    except FileExistsError:
        try:
            pid = _pid(lock.read_bytes()[:32])
        except OSError:
            pid = None
        raise _held(lock, pid, stale_hint=True) from None
    except OSError as exc:
        raise _cannot_lock(lock, exc) from None
    try:
        with contextlib.suppress(OSError):
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
