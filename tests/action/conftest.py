"""Fixtures of the action's tests: the emulator on a loopback port (hsprefs runs in a
subprocess, as on a runner), the stand-in for GitHub's API, a config repository cloned
from a local bare repository, and a faked runner around them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import EmulatorSettings, create_app, serve_in_thread

from .fakes import ROOT, FakeGitHub, FakeRunner, serve_github

sys.path.insert(0, str(ROOT / "action"))

HUBSPOT_TOKEN = "pat-na1-SECRET0hubspot0TOKEN0for0tests"
EXAMPLES = ROOT / "examples"
SEED = EXAMPLES / "emulator-seed.yaml"
PR = {
    "pull_request": {"number": 7, "head": {"sha": "0123456789abcdef0123456789abcdef01234567"}},
    "repository": {"full_name": "acme/config"},
}


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture
def hubspot() -> Iterator[Any]:
    """The emulator, seeded from examples/, accepting HUBSPOT_TOKEN, over a socket."""
    app = create_app(EmulatorSettings(seed=str(SEED), token=HUBSPOT_TOKEN, rate_limit=0))
    with serve_in_thread(app=app) as url:
        app.state.url = url
        yield app


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with serve_github(FakeGitHub()) as fake:
        yield fake


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare repository holding the example config on main (the 'GitHub' remote)."""
    seed = tmp_path / "seed"
    seed.mkdir()
    shutil.copy(EXAMPLES / "hsprefs.yaml", seed / "hsprefs.yaml")
    shutil.copytree(EXAMPLES / "subscribers", seed / "subscribers")
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", ".")
    git(
        seed,
        "-c",
        "user.name=Config Author",
        "-c",
        "user.email=author@example.org",
        "commit",
        "-qm",
        "config",
    )
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    return bare


@pytest.fixture
def workspace(tmp_path: Path, origin: Path) -> Path:
    """The job's checkout of ``origin`` (fetch-depth: 0)."""
    target = tmp_path / "workspace"
    subprocess.run(["git", "clone", "-q", str(origin), str(target)], check=True)
    return target


@pytest.fixture
def runner(tmp_path: Path, workspace: Path, hubspot: Any, github: FakeGitHub) -> FakeRunner:
    """A runner for a pull request's job, pointed at the emulator and the fake API."""
    fake = FakeRunner(root=tmp_path, workspace=workspace)
    fake.env.update(
        {
            "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN,
            "HSPREFS_API_URL": hubspot.state.url,
            "GITHUB_API_URL": github.url,
        }
    )
    fake.set_event("pull_request", PR)
    return fake
