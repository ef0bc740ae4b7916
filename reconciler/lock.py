"""The apply locks: one apply at a time per journal, and per portal on this machine.

Two applies of the same plan started together would both pass the stale check and both
write. :func:`journal_lock` holds ``<journal>.lock``, next to the journal, from before
the stale check until the report is printed; a second apply is refused at once, naming
the lock and the process holding it. Where there is ``fcntl`` the lock is a ``flock``
on that file, which the system releases however the process ends (the file stays, with
the holder's pid in it while held); elsewhere it is a file created with ``O_EXCL``
holding the pid and removed at the end (a crashed run leaves it, and the refusal says
to delete it when no apply is running).

:func:`portal_lock` is the second lock: two applies with *different* journals on the
same portal would share its rate budget and could send the same changes twice. It is a
file per portal and API address in the lock folder (``HSPREFS_LOCK_DIR``, else
``$XDG_STATE_HOME/hsprefs/locks``, else ``~/.local/state/hsprefs/locks``, else
``.hsprefs/locks`` when the home folder cannot be written), holding the holder's pid,
journal and start time, so a refusal names them. A holder that died (SIGKILL, a crash)
leaves its details in the file: the next apply sees that pid is gone, takes the lock
over and says so. Across machines no file lock helps: CI uses a concurrency group per
portal (docs/github.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from reconciler.errors import HsprefsError

try:
    import fcntl
except ImportError:  # Windows: the lock is an O_EXCL file instead
    fcntl = None  # type: ignore[assignment]

__all__ = ["journal_lock", "lock_folder", "portal_lock"]


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
        with _holding(fd, f"{os.getpid()}\n".encode("ascii")):
            yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _holding(fd: int, stamp: bytes) -> Iterator[None]:
    """Name the holder in a taken lock file while the block runs, and clear it after (the
    name only serves a refusal's words; the lock itself is the flock)."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, stamp, 0)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)


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


# -- the portal lock -----------------------------------------------------------------------


def lock_folder() -> Path:
    """Where portal locks live: ``HSPREFS_LOCK_DIR``, else the user's state folder."""
    chosen = os.environ.get("HSPREFS_LOCK_DIR")
    if chosen:
        return Path(chosen)
    state = os.environ.get("XDG_STATE_HOME")
    base = Path(state) if state else Path.home() / ".local" / "state"
    return base / "hsprefs" / "locks"


def _portal_file(folder: Path, portal_id: int, api_url: str) -> Path:
    # The API address is part of the name: emulators on two ports are two portals.
    where = hashlib.sha256(api_url.encode("utf-8")).hexdigest()[:12]
    return folder / f"portal-{portal_id}-{where}.lock"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: alive as far as we can tell
    return True


def _holder(data: bytes) -> dict[str, object]:
    try:
        found = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _portal_held(
    portal_id: int, api_url: str, lock: Path, holder: dict[str, object]
) -> HsprefsError:
    pid = holder.get("pid")
    journal = holder.get("journal")
    since = holder.get("since")
    who = ", ".join(
        part
        for part in (
            f"pid {pid}" if isinstance(pid, int) else "",
            f"journal {journal}" if isinstance(journal, str) else "",
            f"since {since}" if isinstance(since, str) else "",
        )
        if part
    )
    return HsprefsError(
        f"another hsprefs apply{f' ({who})' if who else ''} is applying to portal "
        f"{portal_id} at {api_url} (lock {lock})",
        hint="wait for it to finish: two applies at once on one portal share its rate "
        "limit and may send the same changes twice; in CI, use one concurrency group per "
        "portal",
    )


@contextlib.contextmanager
def portal_lock(
    portal_id: int,
    api_url: str,
    journal: Path,
    *,
    on_takeover: Callable[[int], None] | None = None,
) -> Iterator[Path]:
    """Hold the lock of ``portal_id`` at ``api_url`` on this machine while the block runs.

    Refuses at once (never waits) with an :class:`HsprefsError` naming the holder's pid,
    journal and start time when a live apply holds it. A lock left by a holder that is no
    longer running is taken over, and ``on_takeover(pid)`` told.
    """
    folder = lock_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        if os.environ.get("HSPREFS_LOCK_DIR"):
            raise HsprefsError(
                f"cannot create the lock folder {folder}",
                hint="set HSPREFS_LOCK_DIR to a folder you can write; nothing was sent",
            ) from None
        folder = Path(".hsprefs") / "locks"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HsprefsError(
                f"cannot create the lock folder {folder}: {_why(exc)}",
                hint="set HSPREFS_LOCK_DIR to a folder you can write; nothing was sent",
            ) from None
    lock = _portal_file(folder, portal_id, api_url)
    me = json.dumps(
        {
            "pid": os.getpid(),
            "journal": str(journal),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    ).encode("utf-8")
    if _has_flock():
        with _portal_flock(lock, portal_id, api_url, me, on_takeover):
            yield lock
    else:
        with _portal_exclusive(lock, portal_id, api_url, me, on_takeover):
            yield lock


def _note_takeover(data: bytes, on_takeover: Callable[[int], None] | None) -> None:
    pid = _holder(data).get("pid")
    if isinstance(pid, int) and pid != os.getpid() and not _alive(pid) and on_takeover:
        on_takeover(pid)


@contextlib.contextmanager
def _portal_flock(
    lock: Path,
    portal_id: int,
    api_url: str,
    me: bytes,
    on_takeover: Callable[[int], None] | None,
) -> Iterator[None]:
    assert fcntl is not None
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _cannot_lock(lock, exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            data = b""
            with contextlib.suppress(OSError):
                data = os.pread(fd, 4096, 0)
            raise _portal_held(portal_id, api_url, lock, _holder(data)) from None
        except OSError as exc:
            raise _cannot_lock(lock, exc) from None
        # Held: whatever the file still says is a holder the system already let go of
        # (its process ended without clearing it: killed, crashed).
        with contextlib.suppress(OSError):
            _note_takeover(os.pread(fd, 4096, 0), on_takeover)
        with _holding(fd, me):
            yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _portal_exclusive(
    lock: Path,
    portal_id: int,
    api_url: str,
    me: bytes,
    on_takeover: Callable[[int], None] | None,
) -> Iterator[None]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _round in range(2):
        try:
            fd = os.open(lock, flags, 0o600)
        except FileExistsError:
            try:
                data = lock.read_bytes()[:4096]
            except OSError:
                data = b""
            pid = _holder(data).get("pid")
            if isinstance(pid, int) and not _alive(pid):
                _note_takeover(data, on_takeover)
                with contextlib.suppress(OSError):
                    lock.unlink()
                continue
            raise _portal_held(portal_id, api_url, lock, _holder(data)) from None
        except OSError as exc:
            raise _cannot_lock(lock, exc) from None
        break
    else:
        raise _portal_held(portal_id, api_url, lock, {})
    try:
        with contextlib.suppress(OSError):
            os.write(fd, me)
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
