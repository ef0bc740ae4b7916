"""``hsprefs doctor [PATH...]``: preflight for a new token or CI secret.

Prints one line per check (``ok``, ``fail`` with what to do, or ``skip`` with why it
could not be checked) and a closing count; exit 0 when nothing failed, 1 otherwise.
The checks live in :mod:`reconciler.doctor`. Without PATH the project is
``./hsprefs.yaml`` when it exists; without a project the checks that need one are
skipped.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import config
from reconciler.cli._common import (
    api_options,
    api_settings,
    common_options,
    example,
    with_client,
)
from reconciler.config import PROJECT_FILE
from reconciler.doctor import CheckResult, CheckStatus, diagnose, failed_check, summary_line
from reconciler.errors import ConfigError, HsprefsError, UsageError
from reconciler.model import DesiredState
from reconciler.settings import ApiSettings
from reconciler.traffic import earlier_calls

__all__ = ["command"]


def _load(paths: tuple[Path, ...]) -> tuple[CheckResult, DesiredState | None, str]:
    """The project check, the loaded project, and why there is none."""
    if not paths and not Path(PROJECT_FILE).is_file():
        why = f"no {PROJECT_FILE} here (give the project's PATH to check it)"
        return CheckResult("config", CheckStatus.SKIP, f"not checked: {why}"), None, why
    try:
        desired = config.load(paths)
    except ConfigError as exc:
        check = CheckResult(
            "config", CheckStatus.FAIL, exc.one_line(), "run 'hsprefs validate' and fix the files"
        )
        return check, None, "the config is invalid"
    n_files = len(desired.files)
    brands = len(desired.subscribers())
    # The counts every command says the same way (docs/plan-and-apply.md#counts).
    detail = (
        f"{n_files} {'file' if n_files == 1 else 'files'} valid: {len(desired.subscriptions)} "
        f"aliases, {desired.counts().line()} in {brands} "
        f"{'business unit' if brands == 1 else 'business units'}"
    )
    return CheckResult("config", CheckStatus.OK, detail), desired, ""


def _settings(desired: DesiredState | None, options: dict[str, object]) -> ApiSettings:
    portal = desired.portal if desired is not None else None
    return api_settings(
        options,
        project_api_version=portal.api_version if portal is not None else None,
        project_api_mode=portal.api_mode if portal is not None else None,
    )


def _run(settings: ApiSettings, desired: DesiredState | None, why: str) -> list[CheckResult]:
    def earlier(portal_id: int) -> list[float]:
        return earlier_calls(portal_id, settings.api_url)

    return with_client(
        settings, 0, lambda client: diagnose(client, desired, no_project=why, earlier=earlier)
    )


@click.command("doctor", epilog=example("hsprefs doctor examples/"))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@api_options
@common_options
def command(paths: tuple[Path, ...], **options: object) -> int:
    """Preflight: API reachable, token valid, scopes, portal id, aliases, rate budget.

    Exit 0 when no check failed, 1 otherwise (with an error line on stderr naming the
    failed checks).
    """
    project, desired, why = _load(paths)
    checks = [project]
    try:
        settings = _settings(desired, options)
    except UsageError as exc:
        checks.append(failed_check("connection settings", exc))
    else:
        checks += _run(settings, desired, why)
    for check in checks:
        click.echo(check.line())
    click.echo(summary_line(checks))
    failed = [c.name for c in checks if c.status is CheckStatus.FAIL]
    if failed:
        # The checks are on stdout; the error line on stderr says the run failed, as
        # every other command's does.
        raise HsprefsError(
            f"doctor: {len(failed)} of {len(checks)} {'check' if len(checks) == 1 else 'checks'} "
            f"failed ({', '.join(failed)})",
            hint="see the checks above",
        )
    return 0
