"""``hsprefs emulator serve``: run the local HubSpot emulator (docs/architecture.md#the-emulator).

The emulator package is imported inside the command function only, so the rest of the
CLI (and the reconciler core) never loads it. Once the port is bound the command prints
the two contract lines on stdout, ``HSPREFS_API_URL=...`` and ``HUBSPOT_ACCESS_TOKEN=...``,
flushing after each; everything else goes to stderr. SIGINT and SIGTERM stop it, exit 0.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from reconciler.cli._common import State, common_options, example, hidden
from reconciler.errors import UsageError

__all__ = ["command"]


@click.group(
    "emulator",
    epilog=example("hsprefs emulator serve --port 8765 --seed examples/emulator-seed.yaml"),
)
def command() -> None:
    """Run the local HubSpot communication-preferences emulator."""


def _retry_after(_ctx: click.Context, _param: click.Parameter, value: str) -> float | str | None:
    """``--retry-after``: ``auto``, None for ``off``, or seconds. Raised from a callback,
    click's error names the option."""
    text = value.strip()
    if text in ("auto", "off"):
        return None if text == "off" else text
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise click.BadParameter(
            f"{text!r} is not one of auto (computed), off (no Retry-After header) or a "
            "number of seconds such as 2 or 0.5"
        )
    return int(seconds) if seconds.is_integer() else seconds


# The scope sets --token-scopes names; it also takes a comma-separated list of scopes.
_SCOPE_PRESETS = ("all", "single")


def _token_scopes(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    """``--token-scopes``: ``all``, ``single`` (every scope but the batch ones) or a
    comma-separated list of scope names."""
    if value is None:
        return None
    text = value.strip()
    if text in _SCOPE_PRESETS:
        from reconciler.emulator.operations import ALL_SCOPES, SINGLE_SCOPES

        return ALL_SCOPES if text == "all" else SINGLE_SCOPES
    scopes = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not scopes:
        raise click.BadParameter(
            "give all, single (no batch scopes) or scope names separated by commas"
        )
    return scopes


@command.command(
    "serve",
    epilog=example(
        "hsprefs emulator serve --port 0 --seed examples/emulator-seed.yaml --db state.sqlite3"
    ),
)
@hidden("no_progress")  # the emulator draws no progress
@common_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on; 0 picks a free one (the printed URL has it).",
)
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file that keeps the state across restarts (default: in memory).",
)
@click.option(
    "--seed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Seed file (YAML/JSON) applied to an empty database (default: built-in demo).",
)
@click.option(
    "--token",
    default=None,
    metavar="T",
    help="Accept T as a token with every scope, and print it (default: the seed's token).",
)
@click.option(
    "--token-scopes",
    default=None,
    metavar="all|single|SCOPES",
    callback=_token_scopes,
    help="Scopes of the printed token: all, single (no batch scopes) or a comma-separated "
    "list (default: all, or the seed's).",
)
@click.option(
    "--tier",
    type=click.Choice(["free", "starter", "professional", "enterprise"]),
    default=None,
    help="Marketing Hub tier of the portal; below enterprise no token has the batch "
    "scopes (default: the seed's, else enterprise).",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(0),
    default=190,
    show_default=True,
    help="Requests per token per window; 0 turns the limit off.",
)
@click.option(
    "--rate-window-ms", type=click.IntRange(1), default=10_000, show_default=True,
    help="Length of the rolling rate-limit window.",
)  # fmt: skip
@click.option(
    "--daily-limit", type=click.IntRange(0), default=625_000, show_default=True,
    help="Requests per token per UTC day; 0 turns the cap off.",
)  # fmt: skip
@click.option(
    "--retry-after",
    default="off",
    show_default=True,
    metavar="auto|off|SECONDS",
    callback=_retry_after,
    help="Retry-After on a 429: computed (auto), absent (off), or a fixed number of seconds.",
)
@click.option(
    "--batch-limit", type=click.IntRange(1), default=100, show_default=True,
    help="Most inputs one batch call accepts.",
)  # fmt: skip
@click.option(
    "--latency-ms", type=click.IntRange(0), default=0, show_default=True,
    help="Added latency per request.",
)  # fmt: skip
@click.option(
    "--latency-jitter-ms", type=click.IntRange(0), default=None,
    help="Latency jitter, plus or minus (default: a fifth of --latency-ms).",
)  # fmt: skip
@click.option(
    "--fault-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
    help="Probability that a request gets an injected fault.",
)  # fmt: skip
@click.option(
    "--faults",
    default="",
    metavar="KINDS",
    help="Comma-separated fault kinds: 500,502,503,504,429,drop,slow,pending,lie or all "
    "(default: all).",
)
@click.option("--fault-seed", type=int, default=None, help="Seed of the fault sequence.")
@click.option(
    "--slow-ms", type=click.IntRange(0), default=60_000, show_default=True,
    help="How late a 'slow' fault answers.",
)  # fmt: skip
@click.option(
    "--wide-status",
    type=click.Choice(["empty", "explicit"]),
    default="empty",
    show_default=True,
    help="How a wide-status read answers for someone not opted out.",
)
@click.option(
    "--never-set-dates",
    type=click.Choice(["created", "request"]),
    default="created",
    show_default=True,
    help="How a status nobody set is dated: the definition's creation, or each request.",
)
@click.option(
    "--legal-basis-rule",
    type=click.Choice(["subscribe", "every"]),
    default="subscribe",
    show_default=True,
    help="On a GDPR portal, refuse without a legal basis only SUBSCRIBED writes, or every "
    "status write.",
)
@click.option("--access-log", is_flag=True, help="Log every request on stderr.")
def serve(**options: Any) -> int:
    """Serve the emulator over HTTP until Ctrl-C or SIGTERM."""
    try:
        from reconciler.emulator import EmulatorSettings
        from reconciler.emulator.server import serve as run_server
    except ImportError as exc:
        missing = exc.name or "a package"
        raise UsageError(
            f"the emulator needs {missing}, which is not installed",
            hint="install the extra: pip install 'hsprefs[emulator]'",
        ) from None

    state = click.get_current_context().find_object(State) or State()
    settings = EmulatorSettings(
        db=str(options["db"]) if options["db"] is not None else ":memory:",
        seed=options["seed"],
        token=options["token"],
        rate_limit=options["rate_limit"],
        rate_window_ms=options["rate_window_ms"],
        daily_limit=options["daily_limit"],
        batch_limit=options["batch_limit"],
        latency_ms=options["latency_ms"],
        latency_jitter_ms=options["latency_jitter_ms"],
        fault_rate=options["fault_rate"],
        faults=options["faults"],
        fault_seed=options["fault_seed"],
        slow_ms=options["slow_ms"],
        retry_after=options["retry_after"],
        wide_status_style=options["wide_status"],
        never_set_dates=options["never_set_dates"],
        legal_basis_rule=options["legal_basis_rule"],
        tier=options["tier"],
        token_scopes=options["token_scopes"],
    )

    def ready(url: str, token: str, emulator: Any) -> None:
        # The two contract lines, flushed one by one so a reader can act at once.
        click.echo(f"HSPREFS_API_URL={url}")
        sys.stdout.flush()
        click.echo(f"HUBSPOT_ACCESS_TOKEN={token}")
        sys.stdout.flush()
        if not emulator.seed_applied and options["seed"] is not None:
            click.echo(
                f"hsprefs: note: {options['db']} already holds state; "
                f"the seed {options['seed']} was not applied",
                err=True,
            )
        if not state.quiet:
            portal = emulator.portal.view.seed.portal_id
            click.echo(f"hsprefs: emulating portal {portal} at {url} (Ctrl-C to stop)", err=True)

    # "[::1]" as a URL shows it: the brackets are not part of the address.
    host = str(options["host"])
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    run_server(
        settings,
        host=host,
        port=options["port"],
        on_ready=ready,
        access_log=options["access_log"],
        quiet=state.quiet,
    )
    return 0
