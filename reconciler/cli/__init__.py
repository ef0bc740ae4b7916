"""The ``hsprefs`` command line: it only translates.

Each command parses its options, calls one library function, renders the result and
returns an exit code. Exit codes and error lines are decided here, in :func:`main`, and
nowhere else: 0 success, 1 any error (click's usage errors included), 2 changes or
drift. Commands live one per module and register themselves on :data:`cli`.
"""

from __future__ import annotations

import gc
import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click

from reconciler import __version__
from reconciler.cli._common import State, example
from reconciler.errors import ConfigError, HsprefsError
from reconciler.render.safe import terminal_safe

__all__ = ["cli", "main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2

# click >= 8.2 raises this for a group called without a command; older versions print
# the help and exit 0 themselves (an empty tuple catches nothing).
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())

COMMANDS = (
    "validate",
    "plan",
    "apply",
    "audit",
    "export",
    "definitions",
    "doctor",
    "init",
    "history",
    "emulator",
)


class _Group(click.Group):
    """Lists commands in the contract's order, not alphabetically, and imports a
    command's module only when it is asked for: ``hsprefs validate`` need not load the
    HTTP client, nor ``plan`` the emulator (a fifth of a second of start-up)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS) + sorted(set(self.commands) - set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module = importlib.import_module(f"reconciler.cli.{cmd_name}_cmd")
            self.add_command(module.command)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=example("hsprefs validate examples/", "hsprefs plan examples/ --detailed-exitcode"),
)
@click.version_option(__version__, "--version", prog_name="hsprefs", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """hsprefs: HubSpot email subscription statuses managed as code.

    Validate YAML config, plan the difference with live HubSpot statuses, apply it with
    the fewest API calls, and audit drift. See README.md for the config language.
    """
    ctx.ensure_object(State)


def run(args: Sequence[str] | None = None, *, transport: Any = None, retry: Any = None) -> int:
    """Run the CLI and return its exit code; the single place errors become codes.

    ``transport`` (an ``httpx.AsyncBaseTransport``) is for tests: every command that
    talks to HubSpot then uses it instead of the network; ``retry`` (a
    ``reconciler.client.RetryPolicy``) replaces the default retry policy.
    """
    state = State(transport=transport, retry=retry)
    try:
        result = cli.main(
            args=list(args) if args is not None else None,
            prog_name="hsprefs",
            standalone_mode=False,
            obj=state,
        )
    except click.exceptions.Exit as done:
        return EXIT_OK if done.exit_code == 0 else EXIT_ERROR
    except click.exceptions.Abort:
        click.echo("hsprefs: aborted", err=True)
        return EXIT_ERROR
    except _NO_ARGS_IS_HELP as exc:
        # `hsprefs` or `hsprefs emulator` alone: the group's help, as click shows it (on
        # stderr), not wrapped in an error line; still a usage error, so exit 1.
        click.echo(exc.ctx.get_help(), err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        # Usage errors are 1, never click's 2: 2 means "changes" or "drift".
        message = _usage_message(exc)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        click.echo(terminal_safe(f"hsprefs: error: {message}{hint}"), err=True)
        return EXIT_ERROR
    except HsprefsError as exc:
        if state.debug:
            traceback.print_exc(file=sys.stderr)
        line = _config_line(exc) if isinstance(exc, ConfigError) else exc.one_line()
        click.echo(f"hsprefs: error: {_masked(state, line)}", err=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("hsprefs: interrupted", err=True)
        return EXIT_ERROR
    except Exception as exc:
        if state.debug:
            traceback.print_exc(file=sys.stderr)
        detail = _masked(state, " ".join(str(exc).split()) or type(exc).__name__)
        click.echo(
            f"hsprefs: internal error: {type(exc).__name__}: {detail} "
            "(re-run with --debug for a traceback and report it)",
            err=True,
        )
        return EXIT_ERROR
    if isinstance(result, int):
        return result
    return EXIT_OK


def _usage_message(exc: click.ClickException) -> str:
    """click's message, in one wording across click's versions where they differ."""
    if isinstance(exc, click.NoSuchOption):
        # click before 8.4 says "No such option: --x"; hsprefs keeps one form.
        message = f"No such option {exc.option_name!r}."
        close = sorted(exc.possibilities or ())
        if len(close) == 1:
            message += f" Did you mean {close[0]!r}?"
        elif close:
            message += f" (Did you mean one of: {', '.join(map(repr, close))}?)"
        return message
    return exc.format_message()


def _config_line(exc: ConfigError) -> str:
    """``FILE:LINE:COL: message (and N more ...)``: the first finding without its own
    ``error:``, which the line's ``hsprefs: error:`` prefix already says."""
    if not exc.findings:
        return exc.one_line()
    first = exc.findings[0]
    more = len(exc.findings) - 1
    suffix = f" (and {more} more; run 'hsprefs validate' to see all)" if more > 0 else ""
    return " ".join(f"{first.file}:{first.line}:{first.column}: {first.message}{suffix}".split())


def _masked(state: State, line: str) -> str:
    """The error line with email addresses masked when the command was given --redact,
    and made terminal-safe: HubSpot's messages and file contents are quoted in it."""
    redactor = state.redactor
    return terminal_safe(str(redactor.text(line)) if redactor is not None else line)


def main() -> None:
    """Console-script entry point."""
    # A command builds hundreds of thousands of long-lived objects (keys, statuses,
    # changes) and almost no garbage cycles. At the default thresholds the collector
    # walks them again and again (about 15 % of a 100,000-subscriber plan or apply);
    # at these it runs a few times per command, and a cycle still lives only briefly.
    gc.set_threshold(50_000, 20, 20)
    sys.exit(run())
