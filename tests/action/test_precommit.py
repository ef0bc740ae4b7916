"""The pre-commit hook, run with ``pre-commit try-repo`` against a sample config
repository. pre-commit builds the hook's environment with pip from this repository, so
it needs pip's configured package indexes (nothing else: validate itself reads no
HubSpot data)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import git
from .fakes import ROOT
from .test_workflows import tool


def test_the_hook_is_declared() -> None:
    """One hook, hsprefs-validate, on YAML and CSV files, checking the whole project."""
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    assert hook["id"] == "hsprefs-validate"
    assert hook["entry"] == "hsprefs validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert hook["files"] == r"\.(ya?ml|csv)$"


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository as it is now (committed or not), as one commit of a clean
    repository, so try-repo builds its environment once for the module."""
    target = tmp_path_factory.mktemp("hsprefs-hooks")
    names = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in names:
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    git(target, "init", "-q", "-b", "main")
    git(target, "add", ".")
    git(target, "-c", "user.name=x", "-c", "user.email=x@example.org", "commit", "-qm", "snapshot")
    return target


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A config repository with the example config committed."""
    repo = tmp_path / "config"
    repo.mkdir()
    shutil.copy(ROOT / "examples" / "hsprefs.yaml", repo / "hsprefs.yaml")
    shutil.copytree(ROOT / "examples" / "subscribers", repo / "subscribers")
    (repo / "README.md").write_text("our consent config\n", "utf-8")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=x", "-c", "user.email=x@example.org", "commit", "-qm", "config")
    return repo


def try_repo(repo: Path, hooks: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "HSPREFS_"))}
    env["PRE_COMMIT_HOME"] = str(cache)
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [tool("pre-commit"), "try-repo", str(hooks), "hsprefs-validate", "--color", "never", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_try_repo_passes_then_fails(sample: Path, hook_repo: Path, cache: Path) -> None:
    """A valid config passes; a broken subscriber file fails with file:line:col; a
    commit touching no YAML or CSV skips the hook."""
    passed = try_repo(sample, hook_repo, cache, "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "hsprefs validate" in passed.stdout
    assert "Passed" in passed.stdout
    customers = sample / "subscribers" / "customers.yaml"
    customers.write_text(
        "version: 1\nsubscribers:\n  alice@example.com:\n    nope: unsubscribed\n", "utf-8"
    )
    git(sample, "add", ".")
    failed = try_repo(sample, hook_repo, cache, "--all-files")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Failed" in failed.stdout
    assert (
        "subscribers/customers.yaml:4:5: error: unknown subscription alias 'nope'" in failed.stdout
    )
    skipped = try_repo(sample, hook_repo, cache, "--files", "README.md")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "(no files to check)Skipped" in skipped.stdout
