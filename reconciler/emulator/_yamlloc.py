"""Read a YAML or JSON seed file and remember where every value came from.

Mappings load as :class:`LocatedMap` and sequences as :class:`LocatedList`; both carry
the 1-based (line, column) of each item so a bad seed is reported as ``file:line:column``.
JSON is read with the same loader (JSON documents are YAML), so both formats get
positions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import ConfigError, Finding

__all__ = ["LocatedList", "LocatedMap", "Position", "load_located", "position_of"]

Position = tuple[int, int]


class LocatedMap(dict[Any, Any]):
    """A mapping that knows the position of itself and of each value."""

    start: Position = (1, 1)

    def __init__(self) -> None:
        super().__init__()
        self.positions: dict[Any, Position] = {}


class LocatedList(list[Any]):
    """A sequence that knows the position of itself and of each item."""

    start: Position = (1, 1)

    def __init__(self) -> None:
        super().__init__()
        self.positions: list[Position] = []


class _DuplicateKeyError(Exception):
    def __init__(self, key: object, where: Position) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.where = where


def _pos(node: yaml.Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


# libyaml's parser when PyYAML has it (the wheels do): a seed of 100,000 subscribers
# took 50 s to parse in pure Python and takes a few seconds in C, with the same marks.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader that builds located containers and refuses duplicate keys."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[LocatedMap]:
    data = LocatedMap()
    data.start = _pos(node)
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in data:
            raise _DuplicateKeyError(key, _pos(key_node))
        data[key] = loader.construct_object(value_node, deep=True)
        data.positions[key] = _pos(value_node)


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Iterator[LocatedList]:
    data = LocatedList()
    data.start = _pos(node)
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.positions.append(_pos(item))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_located(path: Path) -> Any:
    """Parse ``path`` (YAML or JSON); syntax errors become a :class:`ConfigError`."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [Finding(name, 1, 1, f"cannot read the seed file: {exc.strerror or exc}")]
        ) from None
    except UnicodeDecodeError:
        raise ConfigError([Finding(name, 1, 1, "the seed file is not UTF-8 text")]) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except _DuplicateKeyError as exc:
        line, column = exc.where
        raise ConfigError(
            [Finding(name, line, column, f"{exc}: each key may appear once in a mapping")]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([Finding(name, line, column, f"invalid YAML/JSON: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Finding(name, 1, 1, f"invalid YAML/JSON: {exc}")]) from None


def position_of(container: object, key: object) -> Position:
    """Where ``container[key]`` was written, or where the container starts."""
    if isinstance(container, LocatedMap):
        return container.positions.get(key, container.start)
    if isinstance(container, LocatedList) and isinstance(key, int):
        if 0 <= key < len(container.positions):
            return container.positions[key]
        return container.start
    return (1, 1)
