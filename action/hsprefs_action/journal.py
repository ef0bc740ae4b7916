"""Committing a run's journal lines to the config repository, under ``journal/``.

An ephemeral runner throws ``.hsprefs/journal.jsonl`` away, and artifacts expire: the
consent evidence is kept in git instead. Each line of the run's journal is appended, as
written, to ``journal/YYYY-MM.jsonl`` (the month of its ``time``, UTC), so the folder is
plain JSON Lines that ``hsprefs history`` and any JSONL reader can read. Existing bytes
are never changed; a line already in the file (a re-run of this step) is not added
twice. The commit message names the plan checksum.

The commit is built with git's plumbing on top of the branch as the remote has it now
(a temporary index, ``commit-tree``, ``push``), so the job's checkout is never touched
and a push that lost a race is rebuilt on the new tip and pushed again. The target is
``main`` by default, or a dedicated branch (created without history on first use) for
repositories whose ``main`` is protected.

The token reaches git only through ``GIT_CONFIG_*`` variables (an ``http.extraheader``
for the server), never a command line or a remote URL, and is never printed.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hsprefs_action.ghenv import ActionError

__all__ = ["JournalCommit", "commit_journal", "month_files", "read_journal"]

_BOT_NAME = "github-actions[bot]"
_BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
_GIT_TIMEOUT = 120


@dataclass(frozen=True)
class JournalCommit:
    """What was committed (``commit`` is None when there was nothing new)."""

    commit: str | None
    branch: str
    lines: int
    files: tuple[str, ...] = ()
    checksums: tuple[str, ...] = field(default=())


def read_journal(path: Path) -> list[str]:
    """The journal's lines, each checked to be one JSON object with a ``time``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ActionError(f"cannot read journal {path}: {exc.strerror or exc}") from None
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if line.startswith('{"time": "'):
                # A line a killed apply cut short, ended by the next run (hsprefs repairs
                # the journal before it appends): no evidence of its own, as the next
                # run's recover lines settle what it was about.
                print(
                    f"::warning::{path}:{number}: a journal line cut short by a killed run "
                    "is left out of the commit (the journal artifact keeps it)"
                )
                continue
            raise ActionError(f"{path}:{number}: not a journal line (not JSON)") from None
        if not isinstance(record, dict) or not isinstance(record.get("time"), str):
            raise ActionError(f"{path}:{number}: not a journal line (no time)")
        lines.append(line)
    return lines


def month_files(lines: Sequence[str], folder: str) -> dict[str, list[str]]:
    """The lines grouped by the file each goes to: ``FOLDER/YYYY-MM.jsonl``."""
    grouped: dict[str, list[str]] = {}
    for line in lines:
        month = json.loads(line)["time"][:7]
        if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
            raise ActionError(f"journal line with a time that is not ISO 8601: {month!r}")
        grouped.setdefault(f"{folder}/{month}.jsonl", []).append(line)
    return grouped


class _Git:
    def __init__(self, repo: Path, env: Mapping[str, str]) -> None:
        self.repo = repo
        self.env = dict(env)

    def __call__(self, *args: str, stdin: bytes | None = None, check: bool = True) -> str:
        try:
            done = subprocess.run(  # noqa: S603
                ["git", "-C", str(self.repo), *args],  # noqa: S607
                input=stdin,
                capture_output=True,
                env=self.env,
                timeout=_GIT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ActionError(f"git {args[0]} failed: {exc}") from None
        if check and done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ActionError(f"git {args[0]} failed: {why[-1] if why else done.returncode}")
        return done.stdout.decode("utf-8", "replace")

    def run_ok(self, *args: str) -> bool:
        try:
            self(*args)
        except ActionError:
            return False
        return True


def git_environment(
    environ: Mapping[str, str], *, token: str | None, server_url: str
) -> dict[str, str]:
    """git's environment: no prompts, the bot as author unless one is set, and the
    token as an extra header for ``server_url`` only."""
    env = dict(environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("GIT_AUTHOR_NAME", _BOT_NAME)
    env.setdefault("GIT_AUTHOR_EMAIL", _BOT_EMAIL)
    env.setdefault("GIT_COMMITTER_NAME", env["GIT_AUTHOR_NAME"])
    env.setdefault("GIT_COMMITTER_EMAIL", env["GIT_AUTHOR_EMAIL"])
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
        index = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
        env[f"GIT_CONFIG_KEY_{index}"] = f"http.{server_url.rstrip('/')}/.extraheader"
        env[f"GIT_CONFIG_VALUE_{index}"] = f"AUTHORIZATION: basic {basic}"
        env["GIT_CONFIG_COUNT"] = str(index + 1)
    return env


def _message(
    checksums: Sequence[str], lines: int, files: Sequence[str], run_url: str | None
) -> str:
    named = ", ".join(checksums) or "no plan checksum"
    body = [
        f"hsprefs journal: plan {named}",
        "",
        f"{lines} journal {'line' if lines == 1 else 'lines'} appended to {', '.join(files)}.",
    ]
    if run_url:
        body.append(f"Apply run: {run_url}")
    return "\n".join(body) + "\n"


def _build(
    git: _Git, base: str | None, grouped: dict[str, list[str]], message: str
) -> tuple[str | None, int, list[str]]:
    """A commit on ``base`` appending the new lines; None when every line is there."""
    with tempfile.TemporaryDirectory(prefix="hsprefs-journal-") as tmp:
        git.env["GIT_INDEX_FILE"] = str(Path(tmp) / "index")
        try:
            if base is not None:
                git("read-tree", base)
            added, touched = 0, []
            for name, lines in sorted(grouped.items()):
                old = git("cat-file", "blob", f"{base}:{name}", check=False) if base else ""
                present = set(old.splitlines())
                new = [line for line in lines if line not in present]
                if not new:
                    continue
                text = old + ("\n" if old and not old.endswith("\n") else "")
                text += "".join(line + "\n" for line in new)
                blob = git("hash-object", "-w", "--stdin", stdin=text.encode("utf-8")).strip()
                git("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}")
                added += len(new)
                touched.append(name)
            if not added:
                return None, 0, []
            tree = git("write-tree").strip()
        finally:
            del git.env["GIT_INDEX_FILE"]
    parents = ["-p", base] if base is not None else []
    commit = git("commit-tree", tree, *parents, stdin=message.encode("utf-8")).strip()
    return commit, added, touched


def commit_journal(
    repo: Path,
    journal: Path,
    *,
    branch: str = "main",
    folder: str = "journal",
    token: str | None = None,
    server_url: str = "https://github.com",
    run_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    attempts: int = 5,
) -> JournalCommit:
    """Append the journal's lines under ``folder`` on ``branch`` of ``origin`` and push."""
    folder = folder.strip("/") or "journal"
    if ".." in Path(folder).parts or Path(folder).is_absolute():
        raise ActionError(f"journal folder {folder!r} must be a path inside the repository")
    lines = read_journal(journal)
    grouped = month_files(lines, folder)
    checksums = tuple(
        sorted({json.loads(line).get("plan_checksum") or "" for line in lines} - {""})
    )
    if not lines:
        return JournalCommit(None, branch, 0, checksums=checksums)
    git = _Git(
        repo,
        git_environment(
            os.environ if environ is None else environ, token=token, server_url=server_url
        ),
    )
    ref = f"refs/heads/{branch}"
    if not git.run_ok("check-ref-format", ref):
        raise ActionError(f"journal branch {branch!r} is not a valid branch name")
    last = ""
    for _ in range(attempts):
        heads = git("ls-remote", "--heads", "origin", ref).split()
        base = None
        if heads:
            git("fetch", "--quiet", "--no-tags", "origin", f"+{ref}:refs/hsprefs/journal-base")
            base = git("rev-parse", "refs/hsprefs/journal-base").strip()
        message = _message(checksums, len(lines), sorted(grouped), run_url)
        commit, added, touched = _build(git, base, grouped, message)
        if commit is None:
            return JournalCommit(None, branch, 0, checksums=checksums)
        if added != len(lines):
            # Some lines were already there (a re-run): say what this commit adds.
            message = _message(checksums, added, touched, run_url)
            commit, added, touched = _build(git, base, grouped, message)
            assert commit is not None
        try:
            git("push", "--quiet", "origin", f"{commit}:{ref}")
        except ActionError as exc:
            last = str(exc)
            continue  # someone pushed first: rebuild on the new tip
        finally:
            git("update-ref", "-d", "refs/hsprefs/journal-base", check=False)
        return JournalCommit(commit, branch, added, tuple(touched), checksums)
    raise ActionError(
        f"could not push the journal to {branch} after {attempts} attempts: {last} "
        "(the journal is still in the run's artifact)"
    )
