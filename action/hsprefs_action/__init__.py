"""The logic of the hsprefs GitHub Action (``action.yml`` at the repository root).

The action's steps call ``action/run.py`` with one of the subcommands of
:mod:`hsprefs_action.main`; every step's behaviour lives here, so the tests run the very
code a workflow runs. What this package may use: the standard library, and hsprefs only
through its command line and its versioned documents (the saved plan, the journal's
lines), never its Python internals. So the scripts keep working with any hsprefs whose
documents have the same format version, and do not change when the package is
reorganised.

Modules:

- :mod:`hsprefs_action.ghenv`: the runner's files and variables (inputs, outputs, job
  summary, event), workflow-command escaping.
- :mod:`hsprefs_action.hsprefs`: running hsprefs and relaying its output to the log.
- :mod:`hsprefs_action.markdown`: the sticky comment and the job summary of a plan.
- :mod:`hsprefs_action.github`: the few REST calls of the sticky comment.
- :mod:`hsprefs_action.journal`: committing the run's journal lines under ``journal/``
  (git 2.31 or newer: the token reaches git through ``GIT_CONFIG_*`` variables).
- :mod:`hsprefs_action.steps`: the validate, plan, apply and audit steps.
- :mod:`hsprefs_action.post`: the steps after them: the comment and the journal commit.
- :mod:`hsprefs_action.main`: the entry point, one subcommand per step.
"""

__all__: list[str] = []
