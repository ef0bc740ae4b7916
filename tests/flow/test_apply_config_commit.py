"""The journal's config_commit: the config repository's commit, marked +dirty when the
config files differ from it, and null without git or a repository."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.journal import config_commit
from tests.flow.apply_support import journal
from tests.flow.conftest import Hub

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None, reason="git is not installed: config_commit needs it"
)

COMMIT = re.compile(r"[0-9a-f]{40}")


def git(folder: Path, *args: str) -> str:
    out = subprocess.run(
        [
            "git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.com",
            "-c", "commit.gpgsign=false", *args,
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a project file, an included file and a README."""
    root = tmp_path / "repo"
    (root / "subscribers").mkdir(parents=True)
    (root / "hsprefs.yaml").write_text("version: 1\n")
    (root / "subscribers" / "a.yaml").write_text("version: 1\n")
    (root / "README.md").write_text("notes\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "config")
    return root


def files(root: Path) -> list[str]:
    return [str(root / "hsprefs.yaml"), str(root / "subscribers" / "a.yaml")]


def test_clean_config_names_head(repo: Path) -> None:
    """Config files as committed: the commit alone."""
    assert config_commit(repo, files(repo)) == git(repo, "rev-parse", "HEAD")


def test_an_edited_config_file_is_dirty(repo: Path) -> None:
    """An uncommitted edit of an included file marks the commit +dirty."""
    (repo / "subscribers" / "a.yaml").write_text("version: 1\n# edited\n")
    assert config_commit(repo, files(repo)) == git(repo, "rev-parse", "HEAD") + "+dirty"


def test_a_staged_edit_is_dirty(repo: Path) -> None:
    """A staged but uncommitted edit is not in HEAD either."""
    (repo / "hsprefs.yaml").write_text("version: 1\n# staged\n")
    git(repo, "add", "hsprefs.yaml")
    assert config_commit(repo, files(repo)) == git(repo, "rev-parse", "HEAD") + "+dirty"


def test_an_untracked_config_file_is_dirty(repo: Path) -> None:
    """A config file git does not know yet is not described by the commit."""
    (repo / "subscribers" / "b.yaml").write_text("version: 1\n")
    names = [*files(repo), str(repo / "subscribers" / "b.yaml")]
    assert config_commit(repo, names) == git(repo, "rev-parse", "HEAD") + "+dirty"


def test_edits_outside_the_config_do_not_count(repo: Path) -> None:
    """Another file of the repository changed: the config is still the commit's."""
    (repo / "README.md").write_text("other notes\n")
    (repo / "plan.json").write_text("{}\n")
    assert config_commit(repo, files(repo)) == git(repo, "rev-parse", "HEAD")


def test_without_files_every_yaml_file_counts(repo: Path) -> None:
    """Applying a saved plan (no config loaded): any YAML file under the folder counts,
    other files do not."""
    (repo / "plan.json").write_text("{}\n")
    head = git(repo, "rev-parse", "HEAD")
    assert config_commit(repo) == head
    (repo / "subscribers" / "a.yaml").write_text("version: 1\n# edited\n")
    assert config_commit(repo) == head + "+dirty"


def test_not_a_repository_is_null(tmp_path: Path) -> None:
    """A folder outside any repository has no commit."""
    (tmp_path / "hsprefs.yaml").write_text("version: 1\n")
    assert config_commit(tmp_path, [str(tmp_path / "hsprefs.yaml")]) is None


def test_a_repository_without_commits_is_null(tmp_path: Path) -> None:
    """git init without a commit: there is no commit to name."""
    git(tmp_path, "init", "-q")
    assert config_commit(tmp_path, []) is None


def test_without_git_is_null(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git missing from PATH: null, no error."""
    monkeypatch.setenv("PATH", str(repo / "nowhere"))
    assert config_commit(repo, files(repo)) is None


def test_journal_marks_an_uncommitted_config_edit(
    hub: Hub, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the CLI: the project committed, then a config edit left uncommitted; the
    journal's config_commit is HEAD+dirty."""
    # The project fixture is a committed git repository already.
    head = git(project, "rev-parse", "HEAD")
    assert COMMIT.fullmatch(head)
    customers = project / "subscribers" / "customers.yaml"
    customers.write_text(customers.read_text() + "# reviewed, not yet committed\n")
    assert hub.hsprefs("apply", "--auto-approve").code == 0
    assert {line["config_commit"] for line in journal(project)} == {f"{head}+dirty"}
