"""The action's steps: validate, plan, apply and audit, then the comment and the journal.

Each step runs hsprefs, relays its output to the log (workflow commands off, addresses
masked when ``redact`` is on), writes the job summary and the outputs, and returns the
step's exit code. hsprefs's own exit code is always the ``exit-code`` output; the step
passes it through, except that 2 (changes, drift) is not a failure: a plan with changes
is what a pull request is for, and drift fails the step only with ``fail-on-drift``.

Everything a run leaves goes in its state folder (``$RUNNER_TEMP/hsprefs/<command>-<key>``),
the folder the action uploads as the artifact: ``plan.json`` (the saved plan, real
addresses, for ``apply --plan``), ``plan-display.json`` and ``plan.md`` (what people
see), ``journal.jsonl``, ``apply-report.txt``, ``audit.html`` and ``result.json`` (the
outcome the later steps read).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hsprefs_action import hsprefs
from hsprefs_action.ghenv import ActionError, Runner, stop_commands, workflow_command
from hsprefs_action.markdown import (
    Where,
    cell,
    check_document,
    guard_problems,
    render_failure,
    render_plan_summary,
    summary_line,
)

__all__ = ["COMMANDS", "Step", "run_step"]

COMMANDS = ("validate", "plan", "apply", "audit")
_ANNOTATION = re.compile(r"::(error|warning) file=([^,]*),line=(\d+),col=(\d+)::(.*)")


def _unescape(text: str) -> str:
    return (
        text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def slug(key: str) -> str:
    """``key`` (a path) as part of a file or artifact name: ``portals/eu`` is ``portals-eu``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", key).strip("-.") or ""


@dataclass
class Step:
    """One use of the action: its inputs resolved, its state folder ready."""

    runner: Runner
    command: str
    path: str
    key: str
    redact: bool
    state: Path

    @classmethod
    def from_runner(cls, runner: Runner, command: str, *, fresh: bool) -> Step:
        path = runner.input("path", ".")
        key = runner.input("comment-key", path)
        name = f"{command}-{slug(key)}".rstrip("-")
        state = runner.temp() / "hsprefs" / name
        if fresh and state.exists():
            shutil.rmtree(state)
        state.mkdir(parents=True, exist_ok=True)
        step = cls(runner, command, path, key, runner.flag("redact", True), state)
        # Said first, so the artifact, comment and journal steps run even if this one
        # stops half-way; result.json is replaced by finish().
        runner.set_output("state-dir", str(state))
        runner.set_output("artifact-name", step.artifact_name)
        step.write_result(1, f"the hsprefs {command} step stopped before it finished", None)
        return step

    @property
    def title(self) -> str:
        where = f" for `{cell(self.key)}`" if self.key not in ("", ".") else ""
        return f"hsprefs {self.command}{where}"

    @property
    def artifact_name(self) -> str:
        named = self.runner.input("artifact-name")
        if named:
            return named
        suffix = slug(self.key)
        return f"hsprefs-{self.command}" + (f"-{suffix}" if suffix else "")

    def api_args(self) -> list[str]:
        """The options every command that talks to HubSpot gets from the inputs."""
        args = []
        token_file = self.runner.input("token-file")
        if token_file:
            args += ["--token-file", str(self.runner.workspace() / token_file)]
        rate_limit = self.runner.number("rate-limit")
        if rate_limit is not None:
            args += ["--rate-limit", str(rate_limit)]
        return args

    def finish(self, code: int, summary: str, *, error: str | None = None, **paths: Path) -> None:
        """The outputs, and ``result.json`` for the steps that come after."""
        out = self.runner.set_output
        out("exit-code", str(code))
        out("summary", summary)
        for name in ("plan-path", "journal-path", "report-path"):
            found = paths.get(name.replace("-", "_"))
            out(name, str(found) if found is not None else "")
        self.write_result(code, summary, error)

    def write_result(self, code: int, summary: str, error: str | None) -> None:
        result = {
            "command": self.command,
            "exit_code": code,
            "summary": summary,
            "error": error,
            "key": self.key,
            "title": self.title,
            "artifact_name": self.artifact_name,
        }
        (self.state / "result.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")


def _relay(mask: hsprefs.EmailMask) -> Any:
    return lambda line: print(mask.text(line), flush=True)


def _annotate_error(step: Step, line: str | None) -> None:
    if line:
        print(workflow_command("error", line, title=step.title.replace("`", "")), flush=True)


def _readable(lines: list[str]) -> list[str]:
    """validate's annotations as ``file:line:col: error: message`` lines."""
    out = []
    for line in lines:
        found = _ANNOTATION.fullmatch(line)
        if found:
            kind, file, row, col, message = found.groups()
            out.append(f"{_unescape(file)}:{row}:{col}: {kind}: {_unescape(message)}")
        elif line.strip():
            out.append(line)
    return out


def _validate(step: Step) -> hsprefs.Result:
    # Annotations are workflow commands, so validate's output is not fenced by
    # stop_commands: hsprefs escapes every finding into one command line. Addresses in
    # the findings are masked like everything else people see.
    mask = hsprefs.EmailMask(enabled=step.redact)
    result = hsprefs.run(
        ["validate", step.path, "--format", "github"],
        cwd=step.runner.workspace(),
        on_line=lambda line: print(mask.text(line), flush=True),
    )
    result.lines = [mask.text(line) for line in result.lines]
    return result


def validate(step: Step) -> int:
    result = _validate(step)
    summary = result.error or result.last
    if result.code == 0:
        step.runner.add_summary(f"### {step.title}\n\n**{cell(summary)}**\n")
    else:
        text = render_failure(step.title, summary, _readable(result.lines), key=None)
        step.runner.add_summary(text)
        _annotate_error(step, result.error)
    step.finish(result.code, summary, error=result.error)
    return result.code


def plan(step: Step) -> int:
    checked = _validate(step) if step.runner.flag("validate", True) else None
    if checked is not None and checked.code != 0:
        what = f"The config is invalid: {checked.error or checked.last}"
        step.runner.add_summary(
            render_failure(step.title, what, _readable(checked.lines), key=None)
        )
        _annotate_error(step, checked.error)
        step.finish(checked.code, what, error=checked.error or checked.last)
        return 1
    saved = step.state / "plan.json"
    display = step.state / "plan-display.json"
    args = ["plan", step.path, "-o", str(saved), "--format", "json", "--detailed-exitcode"]
    args += (["--redact"] if step.redact else []) + step.api_args()
    with stop_commands():
        result = hsprefs.run(
            args,
            cwd=step.runner.workspace(),
            on_line=_relay(hsprefs.EmailMask(enabled=False)),
            stdout_path=display,
        )
    if result.code not in (0, 2):
        error = result.error or f"hsprefs plan exited {result.code}"
        step.runner.add_summary(render_failure(step.title, error, [], key=None))
        _annotate_error(step, error)
        display.unlink(missing_ok=True)
        step.finish(1, error, error=error)
        return 1
    try:
        doc = check_document(json.loads(display.read_text("utf-8")))
    except ValueError as exc:
        raise ActionError(
            f"hsprefs plan printed no plan document this action reads: {exc}"
        ) from None
    where = Where(step.runner.run_url(), step.artifact_name)
    room = step.runner.summary_room() - 1_000
    text = render_plan_summary(doc, title=step.title, where=where, limit=room)
    (step.state / "plan.md").write_text(text, "utf-8")
    step.runner.add_summary(text)
    line = summary_line(doc)
    problems = guard_problems(doc)
    print(line)
    print(f"Checksum: {doc['checksum']}")
    if problems:
        message = "apply will refuse this plan (mass-change guard): " + "; ".join(problems)
        print(workflow_command("warning", message, title=step.title.replace("`", "")))
    print(f"The plan is in the job summary and in the artifact {step.artifact_name}.")
    step.finish(result.code, line, plan_path=saved)
    return 0


def _apply_summary(lines: list[str]) -> str | None:
    for line in lines:
        if line.startswith(("Applied and verified:", "The plan has no changes")):
            return line.strip()
    for line in lines:
        if line.startswith("No changes. HubSpot matches the config."):
            return line.strip()
    return None


def _code_block(lines: list[str], room: int) -> tuple[str, int]:
    """``lines`` as a fenced block of at most ``room`` UTF-8 bytes; how many were cut."""
    fence = "````"
    out, used = [fence], len(fence) + 1
    for index, line in enumerate(lines):
        text = line.replace(fence, "` ` ` `")
        cost = len(text.encode("utf-8")) + 1
        if used + cost + len(fence) + 2 > room:
            out.append(fence)
            return "\n".join(out) + "\n", len(lines) - index
        out.append(text)
        used += cost
    out.append(fence)
    return "\n".join(out) + "\n", 0


def apply(step: Step) -> int:
    plan_file = step.runner.input("plan-file")
    journal = step.state / "journal.jsonl"
    args = ["apply", step.path, "--journal", str(journal)]
    if plan_file:
        args += ["--plan", str(step.runner.workspace() / plan_file)]
    elif step.runner.flag("auto-approve", True):
        args += ["--auto-approve"]
    else:
        raise ActionError("apply needs a reviewed plan (the plan-file input) or auto-approve: true")
    if step.runner.flag("allow-mass-change", False):
        args += ["--allow-mass-change"]
    args += step.api_args()
    report = step.state / "apply-report.txt"
    mask = hsprefs.EmailMask(enabled=step.redact)
    with report.open("w", encoding="utf-8") as stream, stop_commands():

        def keep(line: str) -> None:
            stream.write(line + "\n")
            stream.flush()
            print(mask.text(line), flush=True)

        result = hsprefs.run(args, cwd=step.runner.workspace(), on_line=keep)
    lines_written = 0
    if journal.exists():
        lines_written = sum(1 for line in journal.read_text("utf-8").splitlines() if line.strip())
    summary = _apply_summary(result.lines) if result.code == 0 else None
    summary = summary or result.error or f"hsprefs apply exited {result.code}"
    head = f"### {step.title}\n\n**{cell(mask.text(summary))}**\n\n"
    tail = (
        f"\nJournal: {lines_written} {'line' if lines_written == 1 else 'lines'} "
        f"in the artifact `{cell(step.artifact_name)}`"
        + (", committed to the repository by the next step." if lines_written else ".")
        + "\n"
    )
    room = step.runner.summary_room() - len((head + tail).encode("utf-8")) - 500
    block, cut = _code_block([mask.text(line) for line in result.lines], room)
    note = (
        f"\n_{cut} more report lines are in `apply-report.txt` of the artifact._\n" if cut else ""
    )
    step.runner.add_summary(head + block + note + tail)
    if result.code != 0:
        _annotate_error(step, mask.text(summary))
    paths: dict[str, Path] = {"report_path": report}
    if lines_written:
        paths["journal_path"] = journal
    if plan_file:
        paths["plan_path"] = step.runner.workspace() / plan_file
    step.finish(result.code, mask.text(summary), error=result.error, **paths)
    return 0 if result.code == 0 else 1


def audit(step: Step) -> int:
    html = step.state / "audit.html"
    args = ["audit", step.path, "--format", "html", "-o", str(html)]
    args += (["--redact"] if step.redact else []) + step.api_args()
    with stop_commands():
        result = hsprefs.run(
            args, cwd=step.runner.workspace(), on_line=_relay(hsprefs.EmailMask(enabled=False))
        )
    line = next((x for x in result.lines if x.startswith("Audit: ")), "")
    summary = line.split(". Wrote the report to ")[0] if line else ""
    fail_on_drift = step.runner.flag("fail-on-drift", False)
    if result.code == 1 or not summary:
        summary = result.error or f"hsprefs audit exited {result.code}"
        step.runner.add_summary(render_failure(step.title, summary, [], key=None))
        _annotate_error(step, summary)
        step.finish(1, summary, error=summary)
        return 1
    if result.code == 2:
        verdict = "Drift: HubSpot differs from the config (blocked pairs count)."
        kind = "error" if fail_on_drift else "warning"
        print(workflow_command(kind, f"{summary}: drift found", title=step.title.replace("`", "")))
    else:
        verdict = "In sync: HubSpot matches the config."
    step.runner.add_summary(
        f"### {step.title}\n\n**{cell(summary)}**\n\n{verdict} The HTML report is "
        f"`audit.html` in the artifact `{cell(step.artifact_name)}`.\n"
    )
    step.finish(result.code, summary, report_path=html)
    return 1 if result.code == 2 and fail_on_drift else 0


def run_step(runner: Runner) -> int:
    """The step the ``command`` input names."""
    command = runner.input("command")
    if command not in COMMANDS:
        raise ActionError(f"input command must be one of {', '.join(COMMANDS)}, not {command!r}")
    step = Step.from_runner(runner, command, fresh=True)
    handler = {"validate": validate, "plan": plan, "apply": apply, "audit": audit}[command]
    return handler(step)
