"""Packaged data: the JSON Schemas of the top-level ``schemas/`` folder.

In a wheel they live in ``reconciler/_schemas`` (hatchling force-includes them); in a
source checkout or an editable install they are read from ``schemas/`` beside the package.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

__all__ = ["load_schema", "schema_dir", "schema_names"]


def schema_dir() -> Path:
    """The folder that holds the JSON Schemas, in a wheel or in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "_schemas"
    if packaged.is_dir():
        return packaged
    return here.parent / "schemas"


def schema_names() -> list[str]:
    """File names of every schema shipped (sorted)."""
    return sorted(p.name for p in schema_dir().glob("*.json"))


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Load one schema by file name, e.g. ``"project.schema.json"``."""
    path = schema_dir() / name
    return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))
