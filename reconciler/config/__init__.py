"""The config room: YAML files in, an immutable :class:`~reconciler.model.DesiredState` out.

Public API (what other rooms call):

- :func:`load` finds the project, reads and validates every file, and returns the
  desired state or raises :class:`~reconciler.errors.ConfigError` with every finding.
- :func:`check` does the same without raising: ``(state or None, findings)``.
- :func:`check_definitions` and :func:`resolve_aliases` check and bind the project's
  aliases against HubSpot's subscription definitions (pure functions; the caller reads
  the definitions).

Private modules, in pipeline order: ``_files`` (finding and reading files, bounded),
``_yaml`` (safe, fast YAML with positions), ``_schema`` + ``_acceptor`` (JSON Schema),
``_project``, ``_subscribers``, ``_roster``, ``_claims`` (meaning and semantic checks),
``_loader`` (the pipeline), ``_online`` (definitions), ``_reference`` (docs).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

# The project file's name; public, though not a function of the API below.
from reconciler.config._files import PROJECT_FILE as PROJECT_FILE
from reconciler.config._loader import check_paths, now_utc
from reconciler.config._online import check_definitions, resolve_aliases
from reconciler.errors import ConfigError, Finding
from reconciler.model import DesiredState

__all__ = ["check", "check_definitions", "load", "resolve_aliases"]

log = logging.getLogger(__name__)


def check(
    paths: Sequence[Path | str] = (),
    *,
    today: datetime | None = None,
    empty_includes: bool = False,
    project_only: bool = False,
) -> tuple[DesiredState | None, list[Finding]]:
    """Validate the config at ``paths`` (docs/architecture.md#config-language) without raising.

    Returns the desired state (None when any finding is an error) and every finding,
    sorted by file, line and column. ``today`` is "now" for the ``consented_at`` checks
    (naive means UTC; default: the clock). ``empty_includes`` accepts include patterns
    that match no file yet (export bootstraps a new config repository);
    ``project_only`` reads the project file alone (export needs only its aliases).
    """
    return check_paths(
        paths, now_utc(today), empty_includes=empty_includes, project_only=project_only
    )


def load(
    paths: Sequence[Path | str] = (),
    *,
    today: datetime | None = None,
    empty_includes: bool = False,
) -> DesiredState:
    """The desired state of the config at ``paths``; :class:`ConfigError` with every finding.

    Warnings do not stop loading; they are logged.
    """
    state, findings = check(paths, today=today, empty_includes=empty_includes)
    if state is None:
        raise ConfigError([f for f in findings if f.severity == "error"])
    for finding in findings:
        log.warning("%s", finding)
    return state
