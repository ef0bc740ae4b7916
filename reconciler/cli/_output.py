"""Writing a command's output file or stdout all at once, never half.

:func:`output` gives a text stream to write to. With a path, it is a temporary file in
the same folder that replaces the target only when the block ends without an error;
without one, it is a temporary file that is copied to stdout at the end. Either way an
error part-way (HubSpot failing on chunk 40 of 100) leaves no partial output behind.
Used by ``audit -o`` and ``export``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click

from reconciler.errors import UsageError

__all__ = ["output"]


@contextlib.contextmanager
def output(path: Path | None) -> Iterator[TextIO]:
    """A stream whose content reaches ``path`` (or stdout) only if the block succeeds."""
    if path is None:
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as spool:
            yield spool
            spool.seek(0)
            while block := spool.read(1 << 16):
                click.echo(block, nl=False)
        return
    folder = path.parent if str(path.parent) else Path(".")
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="check that the folder exists and is writable",
        ) from None
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.replace(temp, path)
        except OSError as exc:
            raise UsageError(
                f"cannot write {path}: {exc.strerror or exc}", hint="give a file path for -o"
            ) from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
