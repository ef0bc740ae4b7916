"""`hsprefs doctor` against the emulator: one line per check, exit 0 only when none fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.cli import run
from reconciler.client import RetryPolicy
from tests.cli_hub import Result
from tests.commands.conftest import PROJECT, READ_ONLY_TOKEN, Hub, make_hub

CUSTOMERS = """\
version: 1
defaults:
  legal_basis: CONSENT_WITH_NOTICE
  legal_basis_explanation: "Signed up at the shop"
subscribers:
  ann@example.com:
    newsletter: subscribed
  ben@example.com:
    unsubscribe_all: true
"""

WRITE_OK = (
    "ok    write scope: HubSpot's token info lists batch read: "
    "communication_preferences.statuses.batch.read; batch write: "
    "communication_preferences.statuses.batch.write; single read: "
    "communication_preferences.read, communication_preferences.read_write; single write: "
    "communication_preferences.write, communication_preferences.read_write; the token lets "
    "hsprefs plan, audit and apply in batch and single mode"
)


@pytest.fixture
def limited(capsys: pytest.CaptureFixture[str], env: Path) -> Iterator[Hub]:
    """The emulator with HubSpot's rate-limit headers (190 per 10 s, 625,000 a day)."""
    yield from make_hub(capsys, rate_limit=190)


@pytest.fixture
def configured(project: Path) -> Path:
    (project / "subscribers" / "customers.yaml").write_text(CUSTOMERS, encoding="utf-8")
    return project


def test_all_checks_pass(limited: Hub, configured: Path) -> None:
    """A good token and project: every check ok, the write scope from HubSpot's token info."""
    result = limited.hsprefs("doctor")
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines() == [
        "ok    config: 2 files valid: 5 aliases, 2 subscribers, 1 managed status, 1 opt-out flag "
        "in 1 business unit",
        "ok    API reachable: http://127.0.0.1 (API 2026-03) answered",
        "ok    token accepted: portal 4242",
        "ok    read scope: GET /definitions answered",
        "ok    batch read scope: POST /statuses/batch/read and "
        "/statuses/batch/unsubscribe-all/read answered",
        "ok    API mode: auto uses batch mode (the token has the batch scopes); a plan of this "
        "config costs batch 4 calls (within one window) or single 7 calls (within one "
        "window) at 190 requests per 10 s",
        WRITE_OK,
        "ok    portal id: 4242 matches portal.id",
        "ok    aliases: 5 aliases resolve; definition 13 ('Print Catalogue') of the alias "
        "'catalogue' is not active in HubSpot",
        "ok    rate budget: a plan of this config needs 4 calls; 190 per 10 s window, so it "
        "spans 1 window; 183 of 190 calls left in the current window; 624,993 of 625,000 "
        "calls left today",
        "Doctor: 10 ok, 0 failed, 0 not checked.",
    ]


def test_without_a_project(limited: Hub, env: Path) -> None:
    """Without hsprefs.yaml the project checks are skipped, saying why; exit 0."""
    result = limited.hsprefs("doctor")
    assert result.code == 0
    assert result.out.splitlines() == [
        "skip  config: not checked: no hsprefs.yaml here (give the project's PATH to check it)",
        "ok    API reachable: http://127.0.0.1 (API 2026-03) answered",
        "ok    token accepted: portal 4242",
        "ok    read scope: GET /definitions answered",
        "ok    batch read scope: POST /statuses/batch/read and "
        "/statuses/batch/unsubscribe-all/read answered",
        "ok    API mode: auto uses batch mode (the token has the batch scopes)",
        WRITE_OK,
        "skip  portal id: not checked: no hsprefs.yaml here (give the project's PATH to check it)",
        "skip  aliases: not checked: no hsprefs.yaml here (give the project's PATH to check it)",
        "ok    rate budget: 190 per 10 s window; 185 of 190 calls left in the current window; "
        "624,995 of 625,000 calls left today",
        "Doctor: 7 ok, 0 failed, 3 not checked.",
    ]


def test_doctor_makes_no_write_call(limited: Hub, configured: Path) -> None:
    """Doctor reads once per read operation (definitions once more per aliased brand) and
    never writes."""
    limited.reset_counts()
    limited.hsprefs("doctor")
    assert limited.counts() == {
        "account_info": 1,
        "definitions": 3,
        "oauth.access_token_info": 1,
        "statuses.batch.read": 1,
        "statuses.batch.unsubscribe_all_read": 1,
    }


def test_refused_token(limited: Hub, configured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused token fails, says what to do, and the checks after it are skipped; exit 1."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-wrong-token-0000")
    result = limited.hsprefs("doctor")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[2].startswith("fail  token accepted: HubSpot rejected the access token")
    assert lines[2].endswith(
        "; create a Service Key (Settings > Integrations > Service Keys) or a private app's "
        "token with the scopes of docs/client.md#api-modes, and set HUBSPOT_ACCESS_TOKEN (or "
        "--token-file)"
    )
    assert lines[3:] == [
        "skip  read scope: not checked: the token was refused",
        "skip  batch read scope: not checked: the token was refused",
        "skip  API mode: not checked: the token was refused",
        "skip  write scope: not checked: the token was refused",
        "skip  portal id: not checked: the token was refused",
        "skip  aliases: not checked: the token was refused",
        "skip  rate budget: not checked: the token was refused",
        "Doctor: 2 ok, 1 failed, 7 not checked.",
    ]
    assert "pat-wrong-token-0000" not in result.out + result.err


def test_missing_scope(limited: Hub, configured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--api-mode batch with a token without the batch read scope fails that check, names
    the scope, and says HubSpot grants it only to Enterprise portals."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", READ_ONLY_TOKEN)
    result = limited.hsprefs("doctor", "--api-mode", "batch")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[3] == "ok    read scope: GET /definitions answered"
    assert lines[4] == (
        "fail  batch read scope: POST /statuses/batch/read and "
        "/statuses/batch/unsubscribe-all/read answered 403: the token lacks "
        "communication_preferences.statuses.batch.read; HubSpot grants the batch scopes only "
        "to Marketing Hub Enterprise portals: use --api-mode auto or single, or add them to a "
        "Service Key (Settings > Integrations > Service Keys) or a private app's token, then "
        "use its new token"
    )
    assert lines[5] == "skip  API mode: not checked: the reads failed"
    # HubSpot's token info shows the token cannot write in batch mode either
    assert lines[6] == (
        "fail  write scope: HubSpot's token info lists batch read: none; batch write: none; "
        "single read: communication_preferences.read; single write: none; the token lets "
        "hsprefs plan and audit in single mode, but not apply; add "
        "communication_preferences.statuses.batch.write to a Service Key (Settings > "
        "Integrations > Service Keys) or a private app's token; apply cannot write in batch "
        "mode without it"
    )
    assert lines[-1] == "Doctor: 7 ok, 2 failed, 1 not checked."


def test_a_token_without_batch_scopes_is_single_mode(
    limited: Hub, configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """auto with a token lacking the batch scopes: single mode is no failure; doctor says
    single mode is used, what the config costs in each mode, and, from HubSpot's token
    info, that this read-only token cannot apply, and which scope to add."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", READ_ONLY_TOKEN)
    limited.reset_counts()
    result = limited.hsprefs("doctor")
    assert result.code == 1, result.out
    assert result.out.splitlines()[4:7] == [
        "skip  batch read scope: not granted: POST /statuses/batch/read and "
        "/statuses/batch/unsubscribe-all/read answered 403 naming "
        "communication_preferences.statuses.batch.read (HubSpot grants the batch scopes only "
        "to Marketing Hub Enterprise); single mode works: GET /statuses/{email} and "
        "/statuses/{email}/unsubscribe-all answered",
        "ok    API mode: auto uses single mode (the token has no batch scopes); a plan of this "
        "config costs batch 4 calls (within one window) or single 7 calls (within one "
        "window) at 190 requests per 10 s",
        "fail  write scope: HubSpot's token info lists batch read: none; batch write: none; "
        "single read: communication_preferences.read; single write: none; the token lets "
        "hsprefs plan and audit in single mode, but not apply; add "
        "communication_preferences.write to a Service Key (Settings > Integrations > Service "
        "Keys) or a private app's token; apply cannot write in single mode without it",
    ]
    assert result.err == (
        "hsprefs: error: doctor: 1 of 10 checks failed (write scope) (see the checks above)\n"
    )
    assert limited.counts() == {
        "account_info": 1,
        "definitions": 3,
        "oauth.access_token_info": 1,
        "statuses.batch.read": 1,
        "statuses.read": 1,
        "statuses.unsubscribe_all_read": 1,
    }


def test_where_hubspot_gives_no_token_info_it_says_so(
    limited: Hub, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token HubSpot's token info does not answer for (an OAuth token: 404): the write
    scope is not checked, and doctor says plainly that apply may still be refused."""

    async def no_token_info(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/oauth/v2/private-apps/get/access-token-info":
            return httpx.Response(
                404, json={"status": "error", "category": "OBJECT_NOT_FOUND", "message": "no"}
            )
        return None

    result = _doctor_over(limited, capsys, no_token_info)
    assert result.code == 0
    assert result.out.splitlines()[6] == (
        "skip  write scope: cannot check the write scope with this token: apply may still be "
        "refused (HubSpot's token info does not answer for it); apply needs "
        "communication_preferences.statuses.batch.write (plan and audit do not)"
    )


def test_the_token_is_never_shown_even_when_echoed(
    limited: Hub, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The token travels in the token-info call's body: an answer that echoes it back
    (in an error, or as a scope) never puts it in doctor's output."""
    from tests.commands.conftest import TOKEN

    async def echo(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/oauth/v2/private-apps/get/access-token-info":
            key = json.loads(request.content)["tokenKey"]
            assert key == TOKEN
            return httpx.Response(
                401,
                json={"status": "error", "category": "INVALID_AUTHENTICATION",
                      "message": f"The token {key} is not a private app token"},
            )  # fmt: skip
        return None

    for args in ((), ("--debug",)):
        result = _doctor_over(limited, capsys, echo, *args)
        assert TOKEN not in result.out + result.err
        assert "cannot check the write scope with this token" in result.out


def _doctor_over(hub: Hub, capsys: pytest.CaptureFixture[str], answer: Any, *args: str) -> Result:
    """doctor against the emulator, with ``answer`` (async, request -> response or None)
    answering first."""
    inner = httpx.ASGITransport(app=hub.app)

    class Front(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await answer(request)
            if response is not None:
                return response
            return await inner.handle_async_request(request)

    capsys.readouterr()
    code = run(["doctor", *args], transport=Front(), retry=RetryPolicy.instant())
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def test_portal_mismatch(limited: Hub, configured: Path) -> None:
    """portal.id of another portal fails with what to do."""
    (configured / "hsprefs.yaml").write_text(PROJECT.replace("id: 4242", "id: 5"), encoding="utf-8")
    result = limited.hsprefs("doctor")
    assert result.code == 1
    assert (
        "fail  portal id: the token belongs to portal 4242, but portal.id is 5; use the token "
        "of the right portal, or fix portal.id in hsprefs.yaml"
    ) in result.out.splitlines()


def test_alias_that_does_not_resolve(limited: Hub, configured: Path) -> None:
    """An alias naming an id HubSpot does not have fails, naming file:line:column."""
    text = PROJECT.replace('catalogue: {id: "13"}', 'catalogue: {id: "99"}')
    (configured / "hsprefs.yaml").write_text(text, encoding="utf-8")
    result = limited.hsprefs("doctor")
    assert result.code == 1
    assert (
        "fail  aliases: 1 problem binding 5 aliases: hsprefs.yaml:8:3: the alias "
        "'catalogue' names subscription id 99, which is not a subscription definition of this "
        "portal; check it with 'hsprefs definitions'; fix the aliases in hsprefs.yaml"
    ) in result.out.splitlines()


def test_invalid_config(limited: Hub, project: Path) -> None:
    """An invalid config fails the config check; the API checks still run."""
    result = limited.hsprefs("doctor")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == (
        "fail  config: hsprefs.yaml:12:5: error: include 'subscribers/*.yaml' matches no "
        "files; fix the pattern, or write the first subscriber file (hsprefs export writes "
        "one); run 'hsprefs validate' and fix the files"
    )
    assert lines[2] == "ok    token accepted: portal 4242"
    assert lines[7] == "skip  portal id: not checked: the config is invalid"


def test_no_token(limited: Hub, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No token at all: a failed settings check that says how to give one; exit 1."""
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    result = limited.hsprefs("doctor")
    assert (result.code, result.err) == (
        1,
        "hsprefs: error: doctor: 1 of 2 checks failed (connection settings) "
        "(see the checks above)\n",
    )
    assert result.out.splitlines()[1:] == [
        "fail  connection settings: no HubSpot token; set HUBSPOT_ACCESS_TOKEN or pass "
        "--token-file FILE",
        "Doctor: 0 ok, 1 failed, 1 not checked.",
    ]


def test_daily_budget_too_small(capsys: pytest.CaptureFixture[str], configured: Path) -> None:
    """When fewer calls are left today than a plan needs, the budget check fails."""
    for hub in make_hub(capsys, rate_limit=190, daily_limit=9):
        result = hub.hsprefs("doctor")
        assert result.code == 1
        assert result.out.splitlines()[-2] == (
            "fail  rate budget: a plan of this config needs 4 calls; 190 per 10 s window, so it "
            "spans 1 window; 183 of 190 calls left in the current window; 2 of 9 calls left "
            "today; wait for the daily budget to reset (midnight in the portal's time zone)"
        )


def test_unreachable_api(capsys: pytest.CaptureFixture[str], env: Path) -> None:
    """No answer at all: the reachability check fails and the rest are skipped."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    code = run(["doctor"], transport=httpx.MockTransport(refuse), retry=RetryPolicy.instant())
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[1].startswith("fail  API reachable: no answer from http://127.0.0.1 (API 2026-03): ")
    assert out[1].endswith("; check --api-url or HSPREFS_API_URL, the network and any proxy")
    assert out[2] == "skip  token accepted: not checked: no API answer"
    assert out[-1] == "Doctor: 0 ok, 1 failed, 9 not checked."


def test_write_scope_named_by_a_read_403(capsys: pytest.CaptureFixture[str], env: Path) -> None:
    """When a read's 403 names a write scope as missing too, the write check fails with it."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/account-info/v3/details":
            return httpx.Response(200, json={"portalId": 4242})
        return httpx.Response(
            403,
            json={
                "status": "error",
                "category": "MISSING_SCOPES",
                "message": "This app hasn't been granted all required scopes.",
                "context": {
                    "missingScopes": [
                        "communication_preferences.statuses.batch.read",
                        "communication_preferences.statuses.batch.write",
                    ]
                },
            },
        )

    code = run(
        ["doctor", "--api-mode", "batch"],
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy.instant(),
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[6] == (
        "fail  write scope: HubSpot named communication_preferences.statuses.batch.write as "
        "missing; add it to a Service Key (Settings > Integrations > Service Keys) or a "
        "private app's token; apply cannot write without it"
    )
    assert out[-1] == "Doctor: 2 ok, 3 failed, 5 not checked."


MORE_CUSTOMERS = """\
version: 1
subscribers:
  cid@example.com:
    newsletter: unsubscribed
  dot@example.com:
    newsletter: unsubscribed
  eve@example.com:
    newsletter: unsubscribed
"""


def _others_call(hub: Hub, times: int) -> None:
    """Another integration on the same private app makes ``times`` calls in this window."""
    for _ in range(times):
        assert hub.api("GET", "/account-info/v3/details").status_code == 200


def test_window_budget_shows_other_traffic(
    capsys: pytest.CaptureFixture[str], configured: Path
) -> None:
    """Others' calls in the current window are named; enough is left for the plan: ok."""
    for hub in make_hub(capsys, rate_limit=12):
        _others_call(hub, 4)
        result = hub.hsprefs("doctor")
        assert result.code == 0
        assert result.out.splitlines()[-2] == (
            "ok    rate budget: a plan of this config needs 4 calls; 12 per 10 s window, so it "
            "spans 1 window; 1 of 12 calls left in the current window (4 used by other traffic "
            "on this app); 624,989 of 625,000 calls left today"
        )


def test_other_traffic_leaves_out_doctor_s_and_earlier_runs_calls(
    capsys: pytest.CaptureFixture[str], configured: Path
) -> None:
    """No other client: doctor names no other traffic, on its first run, on a second
    right after it, or after a plan; another client's calls are then counted, exactly."""
    for hub in make_hub(capsys, rate_limit=190):
        first = hub.hsprefs("doctor")
        assert first.out.splitlines()[-2] == (
            "ok    rate budget: a plan of this config needs 4 calls; 190 per 10 s window, so it "
            "spans 1 window; 183 of 190 calls left in the current window; 624,993 of 625,000 "
            "calls left today"
        )
        second = hub.hsprefs("doctor")
        assert "other traffic" not in second.out
        assert hub.hsprefs("plan").code == 0
        third = hub.hsprefs("doctor")
        assert "other traffic" not in third.out
        _others_call(hub, 3)
        fourth = hub.hsprefs("doctor")
        assert "(3 used by other traffic on this app)" in fourth.out.splitlines()[-2]


def test_window_budget_too_low_for_the_plan_s_first_window(
    capsys: pytest.CaptureFixture[str], configured: Path
) -> None:
    """When others leave less of the window than a plan's first window needs, it fails."""
    (configured / "subscribers" / "more.yaml").write_text(MORE_CUSTOMERS, encoding="utf-8")
    for hub in make_hub(capsys, rate_limit=12):
        _others_call(hub, 4)
        result = hub.hsprefs("doctor", "--batch-size", "1")
        assert result.code == 1
        assert result.out.splitlines()[-2:] == [
            "fail  rate budget: a plan of this config needs 12 calls; 12 per 10 s window, so "
            "it spans 1 window; 1 of 12 calls left in the current window (4 used by other "
            "traffic on this app), but the plan's first window needs 12 and only 8 are free "
            "of it; 624,989 of 625,000 calls left today; wait for the window (10 s) to pass "
            "and run doctor again; if it stays low, another integration is using this app's "
            "budget",
            "Doctor: 9 ok, 1 failed, 0 not checked.",
        ]


def test_window_budget_with_a_lower_rate_limit(
    capsys: pytest.CaptureFixture[str], configured: Path
) -> None:
    """HubSpot's remaining count is told against HubSpot's window; --rate-limit apart."""
    for hub in make_hub(capsys, rate_limit=100):
        _others_call(hub, 10)
        result = hub.hsprefs("doctor", "--rate-limit", "20")
        assert result.code == 0
        assert result.out.splitlines()[-2] == (
            "ok    rate budget: a plan of this config needs 4 calls; 20 per 10 s window, so it "
            "spans 1 window; 83 of 100 calls left in the current window (10 used by other "
            "traffic on this app); hsprefs sends at most 20 per window (--rate-limit); "
            "624,983 of 625,000 calls left today"
        )
