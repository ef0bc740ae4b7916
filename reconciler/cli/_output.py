"""Writing a command's output file or stdout all at once, never half.

:func:`output` gives a text stream to write to. With a path, the stream is the one of
:func:`reconciler.outfile.open_output`: a new or regular file is replaced atomically when
the block ends without an error, and a device, FIFO or ``/dev/stdout`` is written into
in place (never replaced). Without one, or with ``-`` (standard output), it is a
temporary file copied to stdout at the end. Either way an error part-way (HubSpot
failing on chunk 40 of 100) leaves no partial output behind. Used by ``audit -o`` and
``export -o``; ``plan -o`` writes through :func:`reconciler.planfile.save_plan`.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click

from reconciler.outfile import open_output

__all__ = ["STDOUT", "is_stdout", "output"]

# What -o takes to mean standard output (a file named "-" is still ./-).
STDOUT = "-"


def is_stdout(path: Path | None) -> bool:
    """Whether an ``-o`` value means standard output: absent, or ``-``."""
    return path is None or str(path) == STDOUT


@contextlib.contextmanager
def output(path: Path | None, *, what: str = "file") -> Iterator[TextIO]:
    """A stream whose content reaches ``path`` (or stdout) only if the block succeeds."""
    if path is None or is_stdout(path):
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as spool:
            yield spool
            spool.seek(0)
            while block := spool.read(1 << 16):
                click.echo(block, nl=False)
        return
    with open_output(path, what=what) as stream:
        yield stream
