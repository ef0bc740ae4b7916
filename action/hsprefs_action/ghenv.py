"""What a GitHub runner hands a step, and how a step answers.

Inputs reach the scripts as ``INPUT_<NAME>`` variables that ``action.yml`` sets from
``${{ inputs.* }}`` (environment indirection: an input is never pasted into a shell
line). Outputs go to the ``$GITHUB_OUTPUT`` file, the job summary to
``$GITHUB_STEP_SUMMARY`` (GitHub keeps at most 1 MiB of it per step), the event to
``$GITHUB_EVENT_PATH``. Lines printed on stdout that start with ``::`` are workflow
commands; :func:`stop_commands` turns them off while a child's output is relayed, so no
text from HubSpot or the config can become an annotation, a mask or an output.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "SUMMARY_LIMIT",
    "ActionError",
    "Runner",
    "escape_data",
    "escape_property",
    "stop_commands",
    "workflow_command",
]

# GitHub refuses a step summary over 1 MiB; keep room for what other code appends.
SUMMARY_LIMIT = 1_000_000


class ActionError(Exception):
    """A problem the step reports as one line (and an error annotation), then exits 1."""


def escape_data(text: str) -> str:
    """The message part of a workflow command: ``%``, CR and LF encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value of a workflow command (``title=...``): also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(kind: str, message: str, *, title: str | None = None) -> str:
    """``::error title=T::message`` (``kind`` is error, warning or notice)."""
    props = f" title={escape_property(title)}" if title else ""
    return f"::{kind}{props}::{escape_data(message)}"


@contextlib.contextmanager
def stop_commands(stream: Any = None) -> Iterator[None]:
    """Workflow commands are ignored between the two lines this prints: what a child
    prints (HubSpot's free text among it) is shown, never obeyed."""
    out = sys.stdout if stream is None else stream
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", file=out, flush=True)
    try:
        yield
    finally:
        print(f"::{token}::", file=out, flush=True)


class Runner:
    """The step's environment: inputs, outputs, job summary, event, run links."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.env = dict(os.environ if environ is None else environ)

    # -- inputs ---------------------------------------------------------------------

    def input(self, name: str, default: str = "") -> str:
        """The input ``name`` (``plan-file`` is ``INPUT_PLAN_FILE``), stripped."""
        key = "INPUT_" + name.upper().replace("-", "_").replace(" ", "_")
        value = self.env.get(key, "").strip()
        return value or default

    def flag(self, name: str, default: bool) -> bool:
        """A boolean input: true or false (any case); empty means ``default``."""
        value = self.input(name).lower()
        if not value:
            return default
        if value in ("true", "false"):
            return value == "true"
        raise ActionError(f"input {name} must be true or false, not {value!r}")

    def number(self, name: str) -> int | None:
        """A whole-number input, or None when it is empty."""
        value = self.input(name)
        if not value:
            return None
        if not value.isdigit() or int(value) < 1:
            raise ActionError(f"input {name} must be a whole number of at least 1, not {value!r}")
        return int(value)

    # -- answers --------------------------------------------------------------------

    def set_output(self, name: str, value: str) -> None:
        """Append ``name`` to ``$GITHUB_OUTPUT`` (a multi-line value gets a delimiter
        that cannot occur in it)."""
        path = self.env.get("GITHUB_OUTPUT")
        if not path:
            return
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(12)}"
            text = f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
        else:
            text = f"{name}={value}\n"
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(text)

    def summary_room(self) -> int:
        """Bytes the job summary of this step may still take."""
        path = self.env.get("GITHUB_STEP_SUMMARY")
        used = 0
        if path:
            with contextlib.suppress(OSError):
                used = Path(path).stat().st_size
        return max(0, SUMMARY_LIMIT - used)

    def add_summary(self, markdown: str) -> None:
        """Append ``markdown`` to the job summary; refused (as a bug) when it would pass
        GitHub's cap, which callers size their text for."""
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        if len(markdown.encode("utf-8")) > self.summary_room():
            raise ActionError("internal error: the job summary would pass GitHub's 1 MiB cap")
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(markdown)

    # -- context --------------------------------------------------------------------

    def event(self) -> dict[str, Any]:
        """The event that started the workflow (an empty dict when there is none)."""
        path = self.env.get("GITHUB_EVENT_PATH")
        if not path:
            return {}
        try:
            with open(path, encoding="utf-8") as stream:
                data = json.load(stream)
        except (OSError, ValueError) as exc:
            raise ActionError(f"cannot read the event file {path}: {exc}") from None
        return data if isinstance(data, dict) else {}

    @property
    def event_name(self) -> str:
        return self.env.get("GITHUB_EVENT_NAME", "")

    @property
    def repository(self) -> str:
        return self.env.get("GITHUB_REPOSITORY", "")

    @property
    def server_url(self) -> str:
        return self.env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")

    @property
    def api_url(self) -> str:
        return self.env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")

    def run_url(self) -> str | None:
        """This run's page, where its job summaries and artifacts are."""
        run_id = self.env.get("GITHUB_RUN_ID")
        if not run_id or not self.repository:
            return None
        url = f"{self.server_url}/{self.repository}/actions/runs/{run_id}"
        attempt = self.env.get("GITHUB_RUN_ATTEMPT")
        return f"{url}/attempts/{attempt}" if attempt and attempt != "1" else url

    def workspace(self) -> Path:
        return Path(self.env.get("GITHUB_WORKSPACE") or os.getcwd())

    def temp(self) -> Path:
        """The runner's temporary folder (emptied after each job)."""
        return Path(self.env.get("RUNNER_TEMP") or self.workspace() / ".hsprefs")
