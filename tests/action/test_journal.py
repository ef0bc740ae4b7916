"""Committing the journal under journal/: append-only, one file per month, pushed to a
local bare repository standing in for GitHub."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from hsprefs_action.ghenv import ActionError
from hsprefs_action.journal import commit_journal, git_environment, month_files, read_journal

from .conftest import git

CHECKSUM = "sha256:" + "ab" * 32


def journal_line(time: str, email: str = "alice@example.com") -> str:
    record = {
        "time": time,
        "operation": "write",
        "subscriber": email,
        "brand": 0,
        "plan_checksum": CHECKSUM,
        "portal_id": 12345678,
    }
    return json.dumps(record)


def write_journal(folder: Path, *lines: str) -> Path:
    path = folder / "run-journal.jsonl"
    path.write_text("".join(line + "\n" for line in lines), "utf-8")
    return path


def test_lines_go_to_the_file_of_their_month(tmp_path: Path, workspace: Path, origin: Path) -> None:
    """Two months, two files; the commit is on main of the remote, on top of its tip."""
    october = journal_line("2026-10-31T23:59:59.5Z")
    november = journal_line("2026-11-01T00:00:00Z", "bob@example.com")
    before = git(origin, "rev-parse", "main").strip()
    done = commit_journal(workspace, write_journal(tmp_path, october, november))
    assert done.lines == 2
    assert done.files == ("journal/2026-10.jsonl", "journal/2026-11.jsonl")
    assert git(origin, "rev-parse", "main").strip() == done.commit
    assert git(origin, "rev-parse", "main^").strip() == before
    assert git(origin, "show", "main:journal/2026-10.jsonl") == october + "\n"
    assert git(origin, "show", "main:journal/2026-11.jsonl") == november + "\n"
    assert git(origin, "log", "-1", "--format=%an <%ae>%n%B", "main") == (
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>\n"
        f"hsprefs journal: plan {CHECKSUM}\n\n"
        "2 journal lines appended to journal/2026-10.jsonl, journal/2026-11.jsonl.\n\n"
    )
    # The job's checkout is untouched: no new file, no moved branch.
    assert git(workspace, "status", "--porcelain") == ""
    assert not (workspace / "journal").exists()


def test_append_only_and_no_line_twice(tmp_path: Path, workspace: Path, origin: Path) -> None:
    """A second run appends after the existing bytes; a re-run adds nothing."""
    first = journal_line("2026-11-02T10:00:00Z")
    commit_journal(workspace, write_journal(tmp_path, first))
    second = journal_line("2026-11-02T11:00:00Z", "bob@example.com")
    done = commit_journal(workspace, write_journal(tmp_path, first, second))
    assert done.lines == 1
    assert git(origin, "show", "main:journal/2026-11.jsonl") == first + "\n" + second + "\n"
    again = commit_journal(workspace, write_journal(tmp_path, first, second))
    assert again.commit is None
    assert git(origin, "rev-parse", "main").strip() == done.commit


def test_a_last_line_without_newline_is_ended_first(
    tmp_path: Path, workspace: Path, origin: Path
) -> None:
    """An existing file whose last line has no newline keeps its bytes and gets one."""
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(origin), str(other)], check=True)
    (other / "journal").mkdir()
    (other / "journal" / "2026-11.jsonl").write_text('{"time": "2026-11-01T00:00:00Z"}', "utf-8")
    git(other, "add", ".")
    git(other, "-c", "user.name=x", "-c", "user.email=x@example.org", "commit", "-qm", "old")
    git(other, "push", "-q", "origin", "main")
    line = journal_line("2026-11-03T00:00:00Z")
    commit_journal(workspace, write_journal(tmp_path, line))
    assert git(origin, "show", "main:journal/2026-11.jsonl") == (
        '{"time": "2026-11-01T00:00:00Z"}\n' + line + "\n"
    )


def test_a_dedicated_branch_is_created_without_history(
    tmp_path: Path, workspace: Path, origin: Path
) -> None:
    """journal-branch: a branch that does not exist starts with the journal alone; main
    is not touched."""
    main = git(origin, "rev-parse", "main").strip()
    line = journal_line("2026-11-04T00:00:00Z")
    done = commit_journal(workspace, write_journal(tmp_path, line), branch="hsprefs-journal")
    assert git(origin, "rev-parse", "main").strip() == main
    assert git(origin, "rev-list", "--count", "hsprefs-journal").strip() == "1"
    assert git(origin, "ls-tree", "-r", "--name-only", "hsprefs-journal") == (
        "journal/2026-11.jsonl\n"
    )
    later = journal_line("2026-11-05T00:00:00Z")
    second = commit_journal(workspace, write_journal(tmp_path, later), branch="hsprefs-journal")
    assert git(origin, "rev-parse", "hsprefs-journal^").strip() == done.commit
    assert second.commit == git(origin, "rev-parse", "hsprefs-journal").strip()


def test_the_commit_goes_on_the_remote_tip(tmp_path: Path, workspace: Path, origin: Path) -> None:
    """Someone pushed to main after the job checked out: the journal goes on top of that."""
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(origin), str(other)], check=True)
    (other / "README.md").write_text("hello\n", "utf-8")
    git(other, "add", ".")
    git(other, "-c", "user.name=x", "-c", "user.email=x@example.org", "commit", "-qm", "later")
    git(other, "push", "-q", "origin", "main")
    tip = git(origin, "rev-parse", "main").strip()
    done = commit_journal(workspace, write_journal(tmp_path, journal_line("2026-11-06T00:00:00Z")))
    assert git(origin, "rev-parse", "main^").strip() == tip
    assert done.commit == git(origin, "rev-parse", "main").strip()


def test_a_lost_push_race_is_retried(tmp_path: Path, workspace: Path, origin: Path) -> None:
    """A push refused once (another job pushed first) is rebuilt and pushed again."""
    marker = tmp_path / "refused-once"
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(
        f'#!/bin/sh\nif [ ! -e "{marker}" ]; then touch "{marker}"; '
        'echo "refusing this once" >&2; exit 1; fi\nexit 0\n',
        "utf-8",
    )
    hook.chmod(0o755)
    done = commit_journal(workspace, write_journal(tmp_path, journal_line("2026-11-07T00:00:00Z")))
    assert marker.exists()
    assert done.commit == git(origin, "rev-parse", "main").strip()


def test_a_push_that_keeps_failing_is_one_line(
    tmp_path: Path, workspace: Path, origin: Path
) -> None:
    """Every attempt refused: one line naming the branch and git's last words."""
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n", "utf-8")
    hook.chmod(0o755)
    with pytest.raises(ActionError) as caught:
        commit_journal(
            workspace, write_journal(tmp_path, journal_line("2026-11-08T00:00:00Z")), attempts=2
        )
    assert str(caught.value).startswith("could not push the journal to main after 2 attempts: ")
    assert str(caught.value).endswith("(the journal is still in the run's artifact)")


def test_bad_branch_and_folder_are_refused(tmp_path: Path, workspace: Path) -> None:
    """A branch git would refuse, or a folder outside the repository, is one line."""
    journal = write_journal(tmp_path, journal_line("2026-11-09T00:00:00Z"))
    with pytest.raises(
        ActionError, match=re.escape("journal branch 'a..b' is not a valid branch name")
    ):
        commit_journal(workspace, journal, branch="a..b")
    with pytest.raises(ActionError, match="must be a path inside the repository"):
        commit_journal(workspace, journal, folder="../elsewhere")


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path, workspace: Path) -> None:
    """Lines that are not journal lines are refused with file:line."""
    path = tmp_path / "notes.jsonl"
    path.write_text('{"time": "2026-11-01T00:00:00Z"}\nhello\n', "utf-8")
    with pytest.raises(ActionError, match=r"notes.jsonl:2: not a journal line \(not JSON\)"):
        commit_journal(workspace, path)


def test_month_files_need_iso_times() -> None:
    """A time that does not start with YYYY-MM is refused."""
    assert month_files([journal_line("2026-01-01T00:00:00Z")], "journal") == {
        "journal/2026-01.jsonl": [journal_line("2026-01-01T00:00:00Z")]
    }
    with pytest.raises(ActionError, match="not ISO 8601"):
        month_files(['{"time": "yesterday"}'], "journal")


def test_the_token_reaches_git_as_an_extra_header_only() -> None:
    """The token is a GIT_CONFIG_* header for the server, never argv or a URL."""
    env = git_environment(
        {"GIT_CONFIG_COUNT": "1"}, token="ghs_x", server_url="https://github.com/"
    )
    assert env["GIT_CONFIG_COUNT"] == "2"
    assert env["GIT_CONFIG_KEY_1"] == "http.https://github.com/.extraheader"
    assert env["GIT_CONFIG_VALUE_1"] == "AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX3g="
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GIT_CONFIG_KEY_0" not in env  # the existing entry 0 is the caller's


def test_a_line_cut_short_by_a_killed_run_is_left_out_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A killed apply leaves a line cut short, which the next run ends before appending:
    the Action commits the whole lines and says which one it left out."""
    path = tmp_path / "journal.jsonl"
    path.write_text(
        '{"time": "2026-11-01T00:00:00Z"}\n{"time": "2026-11-01T00:00:01Z", "oper\n'
        '{"time": "2026-11-02T00:00:00Z"}\n',
        "utf-8",
    )
    assert read_journal(path) == [
        '{"time": "2026-11-01T00:00:00Z"}',
        '{"time": "2026-11-02T00:00:00Z"}',
    ]
    assert capsys.readouterr().out == (
        f"::warning::{path}:2: a journal line cut short by a killed run is left out of the "
        "commit (the journal artifact keeps it)\n"
    )
