"""Running the emulator over a real socket: in a test thread, or as the CLI's server.

:func:`serve_in_thread` binds 127.0.0.1 on a free port, serves in a background thread
and shuts down cleanly when its ``with`` block ends. :func:`serve` is what
``hsprefs emulator serve`` runs: it binds first (so ``--port 0`` is known), calls
``on_ready`` once uvicorn listens, and stops on SIGINT or SIGTERM without re-raising
them, so the command exits 0. Logs go to stderr; stdout is left to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from reconciler.emulator.app import DroppedConnection, create_app
from reconciler.emulator.instance import Emulator
from reconciler.emulator.knobs import EmulatorSettings
from reconciler.errors import ConfigError, UsageError

__all__ = ["bind", "serve", "serve_in_thread", "url_for"]

_STARTUP_TIMEOUT = 15.0


class _DropFilter(logging.Filter):
    """Hide uvicorn's traceback for a connection the emulator dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def _quiet_drops() -> None:
    target = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in target.filters):
        target.addFilter(_DropFilter())


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on ``host:port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they
    # are TCP, and without it every answer (headers, then body) waits ~40 ms for the
    # peer's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_for(sock: socket.socket) -> str:
    """``http://HOST:PORT`` of a bound socket (IPv6 hosts in brackets).

    A socket bound to every interface (``0.0.0.0``, ``::``) is shown at its loopback
    address: that URL works on this machine, and hsprefs accepts plain http only to
    loopback, so the printed line can be used as it is.
    """
    host, port = sock.getsockname()[:2]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _config(app: Starlette, *, log_config: dict[str, Any] | None, access_log: bool) -> Any:
    config = uvicorn.Config(
        app,
        log_config=log_config,
        log_level="warning" if log_config is None else None,
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=5,
    )
    _quiet_drops()
    return config


class _ThreadServer(uvicorn.Server):
    """A uvicorn server that never touches signal handlers (it runs off the main thread)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.contextmanager
def serve_in_thread(
    settings: EmulatorSettings | None = None, *, app: Starlette | None = None
) -> Iterator[str]:
    """Serve the emulator on 127.0.0.1 (a free port) in a thread; yields its base URL.

    Pass ``app`` (from :func:`create_app`) to keep a handle on ``app.state.emulator``;
    otherwise one is built from ``settings``. The server stops, and the database is
    closed, when the block ends.
    """
    app = app if app is not None else create_app(settings)
    sock = bind("127.0.0.1", 0)
    server = _ThreadServer(_config(app, log_config=None, access_log=False))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="hsprefs-emulator", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.005)
        yield url_for(sock)
    finally:
        server.should_exit = True
        thread.join(_STARTUP_TIMEOUT)
        sock.close()
        emulator: Emulator = app.state.emulator
        emulator.close()


def _log_config(level: str) -> dict[str, Any]:
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"}
    logger = {"handlers": ["stderr"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": logger,
            "uvicorn.access": {**logger, "level": "INFO"},
            "reconciler.emulator": logger,
        },
    }


class _SignalServer(uvicorn.Server):
    """A uvicorn server that stops on SIGINT/SIGTERM and does not re-raise them after."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._stop) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, sig: int, _frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def serve(
    settings: EmulatorSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    on_ready: Callable[[str, str, Emulator], None],
    access_log: bool = False,
    quiet: bool = False,
) -> None:
    """Serve until SIGINT/SIGTERM; ``on_ready(url, token, emulator)`` runs once listening.

    Refuses with a :class:`UsageError` naming the ``serve`` option to fix (before
    anything is printed): an address that cannot be bound, an invalid seed, a database
    that cannot be opened or written. The address is bound first, so a failure to
    listen leaves a new ``--db`` file unmade and unseeded.
    """
    try:
        _serve(settings, host, port, on_ready, access_log=access_log, quiet=quiet)
    except ConfigError as exc:
        raise UsageError(
            "invalid seed: " + "; ".join(str(f) for f in exc.findings),
            hint="fix the seed file (examples/emulator-seed.yaml shows the format)",
        ) from None
    except sqlite3.Error as exc:
        raise _database_error(settings.db, exc) from None
    except OSError as exc:
        raise _listen_error(host, port, exc) from None


def _serve(
    settings: EmulatorSettings,
    host: str,
    port: int,
    on_ready: Callable[[str, str, Emulator], None],
    *,
    access_log: bool,
    quiet: bool,
) -> None:
    sock = bind(host, port)
    try:
        app = create_app(settings)
    except BaseException:
        sock.close()
        raise
    emulator: Emulator = app.state.emulator
    level = "WARNING" if quiet else "INFO"
    server = _SignalServer(_config(app, log_config=_log_config(level), access_log=access_log))

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            on_ready(url_for(sock), emulator.token, emulator)
        await task

    try:
        asyncio.run(main())
    finally:
        sock.close()
        emulator.close()


def _listen_error(host: str, port: int, exc: OSError) -> UsageError:
    """One line for an address that cannot be bound, with the hint that fits the cause."""
    where = f"cannot listen on {host}:{port}"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return UsageError(
            f"{where}: {host!r} is not an address of this machine ({exc.strerror or exc})",
            hint="give --host an address of this machine, such as 127.0.0.1, ::1 or 0.0.0.0",
        )
    if exc.errno == errno.EACCES:
        return UsageError(
            f"{where}: {exc.strerror or exc}",
            hint="choose a --port from 1024 up (lower ones need privileges), or --port 0 "
            "for a free one",
        )
    if exc.errno == errno.EADDRINUSE:
        return UsageError(
            f"{where}: {exc.strerror or exc}",
            hint="choose another --port, or --port 0 for a free one",
        )
    return UsageError(
        f"{where}: {exc.strerror or exc}",
        hint="check --host and --port; --port 0 picks a free one",
    )


def _database_error(db: str | Path, exc: sqlite3.Error) -> UsageError:
    """One line for a ``--db`` that cannot be opened, or opened but not written."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    if name.startswith("SQLITE_READONLY"):
        return UsageError(
            f"the database {db} is read-only: the emulator writes every change to it",
            hint="make the file and its folder writable, or give --db another file",
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return UsageError(
            f"cannot open or create the database {db}: {exc}",
            hint="check that its folder exists and is writable, or give --db another file",
        )
    return UsageError(f"cannot use the database {db}: {exc}", hint="give --db a writable file path")
