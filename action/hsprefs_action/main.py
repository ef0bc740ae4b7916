"""``run.py STEP``: the entry point of every step of ``action.yml``.

STEP is ``run`` (the step the ``command`` input names: validate, plan, apply or audit),
``comment`` (the sticky pull-request comment of a plan) or ``journal`` (commit the
apply's journal lines). A problem of the action itself (a bad input, a GitHub API
refusal, a push that failed) is one line on stderr and an error annotation; the exit
code is then 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from hsprefs_action.ghenv import ActionError, Runner, workflow_command
from hsprefs_action.post import comment_step, journal_step
from hsprefs_action.steps import run_step

__all__ = ["main"]

STEPS: dict[str, Callable[[Runner], int]] = {
    "run": run_step,
    "comment": comment_step,
    "journal": journal_step,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] not in STEPS:
        print(f"usage: run.py {{{','.join(STEPS)}}}", file=sys.stderr)
        return 1
    runner = Runner()
    try:
        return STEPS[args[0]](runner)
    except ActionError as exc:
        message = " ".join(str(exc).split())
        print(workflow_command("error", message, title="hsprefs action"), flush=True)
        print(f"hsprefs-action: error: {message}", file=sys.stderr, flush=True)
        if args[0] == "run":
            runner.set_output("exit-code", "1")
            runner.set_output("summary", message)
        return 1
