"""Running hsprefs from a step: its exit code, its lines, its error line.

hsprefs runs as ``<this interpreter> -m reconciler``: the scripts run with the Python of
the hsprefs the action installed, so this is that hsprefs. Its output is read line by
line and handed to a callback (which relays it to the log, masked when asked), and its
last error line is kept for the summary and the comment. A cancelled job's SIGINT or
SIGTERM is passed on to hsprefs, which lets the calls on the wire finish and journals
them; the step waits for it instead of dying first.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

__all__ = ["EmailMask", "Result", "error_line", "run"]

# The address pattern of hsprefs's own --redact (reconciler.redact).
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)")
_ERROR_PREFIXES = (
    "hsprefs: error:",
    "hsprefs: internal error:",
    "hsprefs: interrupted",
    "hsprefs: aborted",
)


class EmailMask:
    """Masks email addresses as hsprefs's ``--redact`` does
    (``subscriber-3f2a9c1b@redacted``: a keyed hash, the domain masked too), for output that
    hsprefs cannot redact itself (apply's report). ``enabled=False`` changes nothing."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._key = secrets.token_bytes(32)

    def email(self, address: str) -> str:
        if not self.enabled:
            return address
        digest = hmac.new(self._key, address.lower().encode(), hashlib.sha256).hexdigest()
        return f"subscriber-{digest[:8]}@redacted"

    def text(self, text: str) -> str:
        if not self.enabled:
            return text
        return _EMAIL.sub(lambda m: self.email(m.group(0)), text)


@dataclass
class Result:
    """How one hsprefs run ended."""

    code: int
    lines: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        return error_line(self.lines)

    @property
    def last(self) -> str:
        """The last line that is not an error line (a summary line, as a rule)."""
        for line in reversed(self.lines):
            if line.strip() and not line.startswith(_ERROR_PREFIXES):
                return line.strip()
        return ""


def error_line(lines: Sequence[str]) -> str | None:
    """hsprefs's last error line (``hsprefs: error: ...``), if it printed one."""
    for line in reversed(lines):
        if line.startswith(_ERROR_PREFIXES):
            return line.strip()
    return None


def run(
    args: Sequence[str],
    *,
    cwd: Path,
    on_line: Callable[[str], None],
    stdout_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Result:
    """Run ``hsprefs ARGS`` in ``cwd``. With ``stdout_path`` its stdout goes to that file
    and only stderr is read; otherwise stdout and stderr are read as one stream, in the
    order they were printed. Each line read goes to ``on_line`` and is kept."""
    env = dict(os.environ if environ is None else environ)
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUNBUFFERED"] = "1"
    command = [sys.executable, "-m", "reconciler", *args]
    out: IO[bytes] | int
    out_file = None
    if stdout_path is not None:
        out_file = open(stdout_path, "wb")  # noqa: SIM115 (closed below)
        out = out_file
        err: int = subprocess.PIPE
    else:
        out, err = subprocess.PIPE, subprocess.STDOUT
    try:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        with _forwarding(process):
            stream = process.stderr if stdout_path is not None else process.stdout
            assert stream is not None
            lines: list[str] = []
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                lines.append(line)
                on_line(line)
            code = process.wait()
    finally:
        if out_file is not None:
            out_file.close()
    return Result(code, lines)


class _forwarding:
    """While hsprefs runs, SIGINT and SIGTERM sent to the step go to hsprefs."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self._previous: dict[int, object] = {}

    def _forward(self, number: int, _frame: FrameType | None) -> None:
        if self._process.poll() is None:
            self._process.send_signal(number)

    def __enter__(self) -> None:
        for number in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: nothing to forward
                self._previous[number] = signal.signal(number, self._forward)

    def __exit__(self, *_exc: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)  # type: ignore[arg-type]
