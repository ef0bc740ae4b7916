"""Single-subscriber mode end to end: a portal below Enterprise (no batch scopes) runs the
demo's story with the minimal single calls, after at most one probe refused with 403."""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import config
from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app
from tests.cli_hub import Hub, point_at_emulator
from tests.flow.conftest import ROOT, SEED, commit_config

PLAN_LINE = (
    "Plan: 4 to subscribe, 2 to unsubscribe, 1 to not-specified, 1 unsubscribe-all, "
    "1 blocked, 6 unchanged"
)


@pytest.fixture
def small_hub(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    """The example portal as a Marketing Hub Professional portal: no batch scopes."""
    point_at_emulator(monkeypatch)
    monkeypatch.delenv("HSPREFS_API_MODE", raising=False)
    app = create_app(EmulatorSettings(seed=str(SEED), rate_limit=0, tier="professional"))
    try:
        yield Hub(app, capsys)
    finally:
        app.state.emulator.close()


def _declared(project: Path) -> int:
    """(brand, subscriber) pairs the example config declares."""
    desired = config.load((project,))
    return sum(len(emails) for emails in desired.subscribers().values())


def test_plan_in_auto_mode_probes_once_then_reads_each_subscriber(
    small_hub: Hub, project: Path
) -> None:
    """auto: one batch read refused with 403, then one status and one opt-out read per
    declared subscriber and brand, plus account-info and /definitions; the plan names
    single mode."""
    small_hub.reset_counts()
    result = small_hub.hsprefs("plan")
    assert result.code == 0, result.err
    assert PLAN_LINE in result.out
    assert "(API 2026-03, single mode)" in result.out
    assert "  1. POST statuses/{subscriber}/unsubscribe-all (brand 0): 1 subscriber\n" in result.out
    assert "  2. POST statuses/{subscriber}: 1 status (1 unsubscribe)\n" in result.out
    assert "statuses/batch" not in result.out
    pairs = _declared(project)
    assert small_hub.counts() == {
        "account_info": 1,
        "definitions": 1,
        "statuses.batch.read": 1,
        "statuses.read": pairs,
        "statuses.unsubscribe_all_read": pairs,
    }


def test_single_mode_flag_makes_no_probe(small_hub: Hub, project: Path) -> None:
    """--api-mode single sends no batch call at all."""
    small_hub.reset_counts()
    result = small_hub.hsprefs("plan", "--api-mode", "single")
    assert result.code == 0, result.err
    assert "statuses.batch.read" not in small_hub.counts()


def test_batch_mode_flag_on_such_a_portal_is_the_scope_error(small_hub: Hub, project: Path) -> None:
    """--api-mode batch keeps the 403 as the error, naming HubSpot's scope."""
    result = small_hub.hsprefs("plan", "--api-mode", "batch")
    assert result.code == 1
    assert "communication_preferences.statuses.batch.read" in result.err
    assert "--api-mode single" in result.err


def test_the_demo_story_in_single_mode(small_hub: Hub, project: Path) -> None:
    """plan -o, apply --plan (no probe, one call per change), plan again (no changes),
    a stale saved plan refused, the blocked resubscribe still blocked."""
    saved = project / "plan.json"
    assert small_hub.hsprefs("plan", "-o", str(saved)).code == 0
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert document["target"]["api_mode"] == "single"
    touched = {(c["brand"], c["email"]) for c in document["changes"]}
    writes = sum(1 for c in document["changes"] if c["kind"] != "unsubscribe_all")
    opt_outs = len(document["changes"]) - writes
    assert len(document["calls"]) == writes + opt_outs

    small_hub.reset_counts()
    applied = small_hub.hsprefs("apply", "--plan", str(saved), "--journal", "j.jsonl")
    assert applied.code == 0, applied.err
    assert f"Applied and verified: 8 of 8 changes ({writes + opt_outs} calls)." in applied.out
    counts = small_hub.counts()
    assert counts == {
        "account_info": 1,
        "statuses.read": 2 * len(touched),
        "statuses.unsubscribe_all_read": 2 * len(touched),
        "statuses.write": writes,
        "statuses.unsubscribe_all": opt_outs,
    }
    journal = [json.loads(line) for line in Path("j.jsonl").read_text().splitlines()]
    # Written ahead: a sending line per input before its call left, then its answer with
    # the same call_id; in single mode every input is a call of its own.
    intents = [line for line in journal if line["outcome"] == "sending"]
    answers = [line for line in journal if line["outcome"] != "sending"]
    assert (len(intents), len(answers)) == (8, 8)
    assert sorted(line["call_id"] for line in answers) == sorted(
        line["call_id"] for line in intents
    )
    assert len({line["call_id"] for line in intents}) == 8

    again = small_hub.hsprefs("plan", "--detailed-exitcode")
    assert again.code == 0, again.err
    assert "0 to subscribe, 0 to unsubscribe, 0 to not-specified, 0 unsubscribe-all, " in again.out
    assert "1 blocked" in again.out

    assert "x " in again.out  # the blocked resubscribe is still shown, not sent


def test_a_stale_saved_plan_is_refused_in_single_mode(small_hub: Hub, project: Path) -> None:
    """A touched subscriber changed after plan -o: apply refuses before any write."""
    saved = project / "plan.json"
    assert small_hub.hsprefs("plan", "-o", str(saved)).code == 0
    change = next(
        c
        for c in json.loads(saved.read_text(encoding="utf-8"))["changes"]
        if c["kind"] == "subscribe"
    )
    answer = small_hub.api(
        "POST",
        f"/communication-preferences/2026-03/statuses/{change['email']}",
        {"subscriptionId": int(change["subscription_id"]), "statusState": "UNSUBSCRIBED",
         "channel": "EMAIL"},
    )  # fmt: skip
    assert answer.status_code == 200
    small_hub.reset_counts()
    refused = small_hub.hsprefs("apply", "--plan", str(saved), "--journal", "j.jsonl")
    assert refused.code == 1
    assert "the plan is stale" in refused.err
    counts = small_hub.counts()
    assert "statuses.write" not in counts and "statuses.unsubscribe_all" not in counts
    assert "statuses.batch.read" not in counts  # apply never probes


@pytest.mark.parametrize("tier", ["professional", "enterprise"])
def test_a_saved_plan_applies_when_never_set_statuses_are_dated_at_the_request(
    tier: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    """With never-set statuses dated at each read, the stale check still passes: it does
    not compare the timestamp of a status nobody set (both modes)."""
    point_at_emulator(monkeypatch)
    settings = EmulatorSettings(seed=str(SEED), rate_limit=0, tier=tier, never_set_dates="request")
    app = create_app(settings)
    try:
        hub = Hub(app, capsys)
        saved = project / "plan.json"
        assert hub.hsprefs("plan", "-o", str(saved)).code == 0
        applied = hub.hsprefs("apply", "--plan", str(saved), "--journal", "j.jsonl")
        assert applied.code == 0, applied.err
        assert "Applied and verified: 8 of 8 changes" in applied.out
    finally:
        app.state.emulator.close()


def _readme_single_mode_block() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("To see single mode against the emulator")
    return text[
        text.index("```sh\n", start) + 6 : text.index("```\n", text.index("```sh\n", start) + 6)
    ]


def test_the_readme_single_mode_commands_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """README.md's single-mode example, command by command: the emulator it starts (its
    seed and tier), the variables it exports (what the emulator prints), then doctor,
    plan and apply, which run the demo's plan in single mode with one call per change."""
    lines = [line for line in _readme_single_mode_block().splitlines() if line[:1] != "#"]
    serve = shlex.split(lines[0].split("&")[0])
    assert serve[:3] == ["hsprefs", "emulator", "serve"]
    options = dict(zip(serve[3::2], serve[4::2], strict=True))
    assert lines[1] == (
        f"export HSPREFS_API_URL=http://127.0.0.1:{options['--port']} "
        f"HUBSPOT_ACCESS_TOKEN={DEFAULT_TOKEN}"
    )
    point_at_emulator(monkeypatch)
    monkeypatch.delenv("HSPREFS_API_MODE", raising=False)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    commit_config(tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    settings = EmulatorSettings(
        seed=str(ROOT / options["--seed"]), rate_limit=0, tier=options["--tier"]
    )
    app = create_app(settings)
    try:
        hub = Hub(app, capsys)
        results = []
        for line in lines[2:]:
            for command in line.split("&&"):
                words = shlex.split(command)
                assert words[0] == "hsprefs"
                results.append(hub.hsprefs(*words[1:]))
                assert results[-1].code == 0, results[-1].err
    finally:
        app.state.emulator.close()
    doctor, plan, apply = results
    assert "ok    API mode: auto uses single mode" in doctor.out
    assert plan.out.startswith(PLAN_LINE + "\n")
    assert "(API 2026-03, single mode)" in plan.out
    assert apply.out.endswith(
        "Applied and verified: 8 of 8 changes (8 calls).\n"
        "Journal: journal.jsonl (8 lines written)\n"
    )
