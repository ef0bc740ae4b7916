"""Golden files: rendered output compared, exactly, with a file kept beside the tests.

Each suite makes its checker once, for its own ``golden/`` folder::

    check_golden = golden_checker(Path(__file__).parent / "golden")

``UPDATE_GOLDEN=1 pytest ...`` rewrites the files from the current output first (then
review the diff before committing it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["golden_checker"]


def golden_checker(folder: Path) -> Callable[[str, str], None]:
    """A ``check_golden(name, text)`` for the golden files in ``folder``."""

    def check_golden(name: str, text: str) -> None:
        """``text`` is the golden file ``name``, to the character."""
        path = folder / name
        if os.environ.get("UPDATE_GOLDEN"):
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8")

    return check_golden
