"""The steps after hsprefs ran: the sticky plan comment and the journal commit.

Both read the state folder the main step left (its ``state-dir`` output), so they run
even when that step failed: a failed plan still updates the comment with its error, and
a failed or interrupted apply still commits the lines it journalled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hsprefs_action.ghenv import ActionError, Runner
from hsprefs_action.github import GitHub, upsert_comment
from hsprefs_action.journal import commit_journal
from hsprefs_action.markdown import (
    Where,
    cell,
    check_document,
    marker,
    render_comment,
    render_failure,
)

__all__ = ["comment_step", "journal_step"]


def _state(runner: Runner) -> Path:
    folder = runner.env.get("HSPREFS_STATE_DIR", "").strip()
    if not folder:
        raise ActionError("HSPREFS_STATE_DIR is not set: the hsprefs step did not run")
    return Path(folder)


def _result(state: Path) -> dict[str, Any]:
    try:
        data = json.loads((state / "result.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ActionError(f"the hsprefs step left no result in {state}: {exc}") from None
    if not isinstance(data, dict):
        raise ActionError(f"{state / 'result.json'} is not an object")
    return data


def _pull_request(event: dict[str, Any]) -> tuple[int, str | None] | None:
    pull = event.get("pull_request")
    if isinstance(pull, dict) and isinstance(pull.get("number"), int):
        head = pull.get("head")
        sha = head.get("sha") if isinstance(head, dict) else None
        return pull["number"], sha if isinstance(sha, str) else None
    return None


def comment_body(runner: Runner, state: Path, commit: str | None) -> str:
    """The comment for the plan step's outcome: the plan, or what stopped it."""
    result = _result(state)
    key, title = str(result.get("key", ".")), str(result.get("title", "hsprefs plan"))
    display = state / "plan-display.json"
    if result.get("exit_code") in (0, 2) and display.exists():
        try:
            doc = check_document(json.loads(display.read_text("utf-8")))
        except ValueError as exc:
            raise ActionError(f"{display} is not a plan this action reads: {exc}") from None
        where = Where(
            runner.run_url(),
            str(result.get("artifact_name") or "") or None,
            runner.env.get("HSPREFS_ARTIFACT_URL", "").strip() or None,
        )
        return render_comment(
            doc,
            key=key,
            title=title,
            where=where,
            commit=commit,
            max_changes=runner.number("comment-changes") or 200,
        )
    what = str(result.get("summary") or "hsprefs plan failed")
    details = [str(result["error"])] if result.get("error") and result["error"] != what else []
    body = render_failure(f"{title}: no plan", what, details, key=key)
    run_url = runner.run_url()
    return body + (f"\n[The job log]({run_url})\n" if run_url else "")


def comment_step(runner: Runner) -> int:
    """Create or update the pull request's plan comment."""
    state = _state(runner)
    found = _pull_request(runner.event())
    if found is None:
        print(f"No pull request in this {runner.event_name or 'run'}: no plan comment.")
        return 0
    number, head = found
    body = comment_body(runner, state, head)
    token = runner.input("github-token")
    github = GitHub(runner.api_url, token)
    mark = marker(str(_result(state).get("key", ".")))
    comment = upsert_comment(github, runner.repository, number, body, mark)
    verb = "Created" if comment.created else "Updated"
    print(f"{verb} the plan comment on pull request #{number}: {comment.url}")
    runner.set_output("comment-url", comment.url)
    return 0


def journal_step(runner: Runner) -> int:
    """Commit the apply's journal lines under journal/ and push them."""
    state = _state(runner)
    journal = state / "journal.jsonl"
    if not journal.exists() or not journal.read_text("utf-8").strip():
        print("The apply journalled nothing: no journal commit.")
        return 0
    branch = runner.input("journal-branch", "main")
    done = commit_journal(
        runner.workspace(),
        journal,
        branch=branch,
        folder=runner.input("journal-dir", "journal"),
        token=runner.input("github-token") or None,
        server_url=runner.server_url,
        run_url=runner.run_url(),
        environ=runner.env,
    )
    if done.commit is None:
        print(f"Every journal line is already on {branch}: no new commit.")
        runner.set_output("journal-commit", "")
        return 0
    files = ", ".join(done.files)
    print(f"Committed {done.lines} journal lines to {files} on {branch}: {done.commit}")
    runner.set_output("journal-commit", done.commit)
    runner.add_summary(
        f"\nJournal committed: {done.lines} {'line' if done.lines == 1 else 'lines'} "
        f"appended to {cell(files)} on `{cell(branch)}` (commit `{done.commit[:12]}`).\n"
    )
    return 0
