"""What the network does to a run, said on stderr: a host that does not resolve fails at
once in one line; transient failures are retried, one line per wave of retries, never
with the token or an address in it."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from reconciler.cli import run
from reconciler.client import RetryPolicy
from reconciler.emulator import DEFAULT_TOKEN
from tests.cli_hub import Hub


def _dns_failure(errno: int, message: str) -> httpx.MockTransport:
    """A network whose resolver answers every name with getaddrinfo's ``errno``, as httpx
    raises it (a ConnectError caused by the socket.gaierror); counts the attempts."""

    def resolve(request: httpx.Request) -> httpx.Response:
        resolve.attempts += 1  # type: ignore[attr-defined]
        try:
            raise socket.gaierror(errno, message)
        except socket.gaierror as exc:
            raise httpx.ConnectError(f"[Errno {errno}] {message}", request=request) from exc

    resolve.attempts = 0  # type: ignore[attr-defined]
    return httpx.MockTransport(resolve)


def _run(
    capsys: pytest.CaptureFixture[str], transport: httpx.BaseTransport, *args: str
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args), transport=transport, retry=RetryPolicy.instant())
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve"), ("audit",)])
def test_a_host_that_does_not_resolve_fails_at_once(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
) -> None:
    """An unknown host (DNS: Name or service not known) is not retried: one attempt, one
    line naming the host and what to check, no retry notice, no token."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("HSPREFS_API_URL", "https://no-such-host.invalid")
    transport = _dns_failure(socket.EAI_NONAME, "Name or service not known")
    code, out, err = _run(capsys, transport, *command)
    assert (code, out) == (1, "")
    assert err == (
        "hsprefs: error: GET /account-info/v3/details: cannot resolve the host "
        "no-such-host.invalid (DNS: Name or service not known); not retried: a name that "
        "does not resolve is not a passing failure (check --api-url or HSPREFS_API_URL and "
        "the network's DNS; HubSpot's API is at https://api.hubapi.com)\n"
    )
    assert transport.handler.attempts == 1  # type: ignore[attr-defined]


def test_a_temporary_dns_failure_is_retried_and_said(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resolver that did not answer (EAI_AGAIN) may answer next time: retried, each
    retry told in one line, then the error after the last attempt."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("HSPREFS_API_URL", "https://api.hubapi.com")
    transport = _dns_failure(socket.EAI_AGAIN, "Temporary failure in name resolution")
    code, out, err = _run(capsys, transport, "plan")
    assert (code, out) == (1, "")
    assert err == (
        "".join(
            "hsprefs: retrying GET account-info/v3/details after a failed connection "
            f"(attempt {n} of 6)\n"
            for n in range(2, 7)
        )
        + "hsprefs: error: GET /account-info/v3/details failed after 6 attempts: no answer "
        "from HubSpot (ConnectError: [Errno -3] Temporary failure in name resolution) "
        "(check the network and --api-url; HubSpot may be unreachable)\n"
    )
    assert transport.handler.attempts == 6  # type: ignore[attr-defined]


def test_a_wave_of_retries_is_one_line(hub: Hub, project: Path) -> None:
    """Every read of the plan answered 503 once: one line per wave (same call, reason
    and attempt), and the plan comes out as without the faults."""
    clean = hub.hsprefs("plan")
    hub.admin("POST", "faults", {"kind": "503", "operation": "statuses.batch.read", "count": 2})
    result = hub.hsprefs("plan", "--api-mode", "batch", "--concurrency", "4")
    assert (result.code, result.out) == (0, clean.out)
    assert result.err == (
        "hsprefs: retrying POST statuses/batch/read after HTTP 503 (attempt 2 of 6)\n"
    )
    assert hub.token not in result.err


def test_retries_name_no_subscriber(hub: Hub, project: Path) -> None:
    """In single mode a call's path holds an address: the notice says {subscriber}."""
    hub.admin("POST", "faults", {"kind": "502", "operation": "statuses.read", "count": 1})
    result = hub.hsprefs("plan", "--api-mode", "single", "--concurrency", "1")
    assert result.code == 0
    assert result.err == (
        "hsprefs: retrying GET statuses/{subscriber} after HTTP 502 (attempt 2 of 6)\n"
    )


def test_quiet_keeps_retries_to_itself(hub: Hub, project: Path) -> None:
    """--quiet: retries are not told."""
    hub.admin("POST", "faults", {"kind": "503", "operation": "statuses.batch.read", "count": 1})
    result = hub.hsprefs("plan", "--quiet")
    assert (result.code, result.err) == (0, "")
