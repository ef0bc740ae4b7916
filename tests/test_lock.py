"""The hashed locks that make test, make demo and .ci/run install agree with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)")


def _pins(name: str) -> dict[str, tuple[str, int]]:
    """``{package: (version, number of hashes)}`` of one lock file."""
    pins: dict[str, tuple[str, int]] = {}
    current = ""
    for line in (ROOT / "requirements" / name).read_text(encoding="utf-8").splitlines():
        found = PIN.match(line)
        if found:
            current = canonicalize_name(found[1])
            pins[current] = (found[2], 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        listed.extend(extra)
    return [r for r in map(Requirement, listed) if canonicalize_name(r.name) != "hsprefs"]


@pytest.mark.parametrize("requirement", _declared(), ids=str)
def test_every_declared_dependency_is_locked_within_its_range(requirement: Requirement) -> None:
    """The lock pins each dependency of pyproject.toml to a version its range allows."""
    pins = _pins("dev.lock")
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{name} is not in requirements/dev.lock: run make lock"
    assert requirement.specifier.contains(pins[name][0], prereleases=True)


@pytest.mark.parametrize("lock", ["dev.lock", "tools.lock"])
def test_every_pin_carries_hashes(lock: str) -> None:
    """pip's --require-hashes needs a hash for every package."""
    assert [name for name, (_, hashes) in _pins(lock).items() if hashes == 0] == []


def test_the_two_locks_agree_where_they_share_a_package() -> None:
    """Installing the tools lock and then the dev lock never changes a version back."""
    dev, tools = _pins("dev.lock"), _pins("tools.lock")
    shared = sorted(set(dev) & set(tools))
    assert shared  # hatchling and its own dependencies at least
    assert [(n, dev[n][0], tools[n][0]) for n in shared if dev[n][0] != tools[n][0]] == []
