"""The action's steps run as a workflow runs them (``action/run.py`` in a subprocess,
hsprefs in another), against the emulator, with a faked runner and GitHub API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import HUBSPOT_TOKEN, git
from .fakes import GITHUB_TOKEN, FakeGitHub, FakeRunner, StepRun

PLAN_LINE = (
    "Plan: 4 to subscribe, 2 to unsubscribe, 1 to not-specified, 1 unsubscribe-all, "
    "1 blocked, 6 unchanged"
)


def no_token_anywhere(run: StepRun, *folders: Path) -> None:
    """Neither token is in the step's output, outputs, summary or files it left."""
    texts = [run.out, run.err, run.summary, json.dumps(run.outputs)]
    for folder in folders:
        texts += [p.read_text("utf-8", "replace") for p in folder.rglob("*") if p.is_file()]
    for text in texts:
        assert HUBSPOT_TOKEN not in text
        assert GITHUB_TOKEN not in text


def test_validate_prints_annotations_and_passes_the_exit_code(runner: FakeRunner) -> None:
    """validate: hsprefs's annotations reach the log as workflow commands; exit 1 passes."""
    (runner.workspace / "subscribers" / "customers.yaml").write_text(
        "version: 1\ndefaults:\n  legal_basis: CONSENT_WITH_NOTICE\n"
        "  legal_basis_explanation: Signed up\nsubscribers:\n  alice@example.com:\n"
        "    nope: unsubscribed\n",
        "utf-8",
    )
    run = runner.step("run", {"command": "validate"})
    assert run.code == 1
    assert run.outputs["exit-code"] == "1"
    assert "::error file=subscribers/customers.yaml,line=7,col=5::" in run.out
    assert run.outputs["summary"] == "1 error in 1 file"
    assert "subscribers/customers.yaml:7:5: error:" in run.summary


def test_validate_ok(runner: FakeRunner) -> None:
    """A valid config: exit 0, the summary line as output and job summary."""
    run = runner.step("run", {"command": "validate"})
    assert run.code == 0, run.out + run.err
    assert run.outputs["exit-code"] == "0"
    assert (
        run.outputs["summary"]
        == "ok: 4 files, 10 subscribers, 12 managed statuses, 3 opt-out flags"
    )
    assert run.summary == (
        "### hsprefs validate\n\n"
        "**ok: 4 files, 10 subscribers, 12 managed statuses, 3 opt-out flags**\n"
    )


def test_plan_outputs_summary_and_artifact(runner: FakeRunner) -> None:
    """plan: exit code 2 (changes) as output, a passing step, the plan as job summary,
    the saved plan (real addresses) and a redacted display in the state folder."""
    run = runner.step("run", {"command": "plan"})
    assert run.code == 0, run.out + run.err
    assert run.outputs["exit-code"] == "2"
    assert run.outputs["summary"] == PLAN_LINE
    state = Path(run.outputs["state-dir"])
    assert run.outputs["plan-path"] == str(state / "plan.json")
    assert run.outputs["artifact-name"] == "hsprefs-plan"
    saved = json.loads((state / "plan.json").read_text("utf-8"))
    assert saved["redacted"] is False
    assert "alice@example.com" in json.dumps(saved)
    assert "alice@example.com" not in run.summary
    assert "alice@example.com" not in run.out
    assert run.summary.startswith("### hsprefs plan\n\n**" + PLAN_LINE + "**\n")
    assert "**Mass-change guard: passes**" in run.summary
    assert "2. POST statuses/batch/write: 7 statuses" in run.summary
    assert (state / "plan.md").read_text("utf-8") == run.summary
    no_token_anywhere(run, state)


def test_plan_relays_hsprefs_output_with_workflow_commands_off(runner: FakeRunner) -> None:
    """What hsprefs prints during the plan is shown between stop-commands lines."""
    run = runner.step("run", {"command": "plan"})
    lines = run.out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].split("::")[2]
    end = lines.index(f"::{token}::")
    assert any(line.startswith("Saved the plan to ") for line in lines[start:end])


def test_plan_failure_is_exit_1_with_an_annotation(runner: FakeRunner) -> None:
    """A refused token: exit 1 passed through, the error line as summary and annotation."""
    runner.env["HUBSPOT_ACCESS_TOKEN"] = "pat-na1-wrong"
    run = runner.step("run", {"command": "plan"})
    assert run.code == 1
    assert run.outputs["exit-code"] == "1"
    refused = "hsprefs: error: HubSpot rejected the access token for GET /account-info/v3/details"
    assert run.outputs["summary"].startswith(refused)
    assert f"::error title=hsprefs plan::{refused}" in run.out
    assert refused in run.summary


def test_plan_of_an_invalid_config_stops_before_hubspot(runner: FakeRunner, hubspot: Any) -> None:
    """An invalid config: annotations, exit 1, and HubSpot is not read."""
    (runner.workspace / "hsprefs.yaml").write_text("version: 2\n", "utf-8")
    run = runner.step("run", {"command": "plan"})
    assert run.code == 1
    assert run.outputs["summary"].startswith("The config is invalid: ")
    assert "::error file=hsprefs.yaml,line=1," in run.out
    assert hubspot.state.emulator.recorder.requests_json()["total"] == 0


def test_apply_exit_codes_journal_and_report(runner: FakeRunner) -> None:
    """apply: 0 when applied and verified, the journal and report as outputs; the log
    and summary redacted, the report artifact as hsprefs wrote it."""
    run = runner.step("run", {"command": "apply"})
    assert run.code == 0, run.out + run.err
    assert run.outputs["exit-code"] == "0"
    assert run.outputs["summary"] == "Applied and verified: 8 of 8 changes (2 calls)."
    journal = Path(run.outputs["journal-path"])
    # a sending line written ahead of each call, and an answer line, per change
    assert len(journal.read_text("utf-8").splitlines()) == 16
    report = Path(run.outputs["report-path"]).read_text("utf-8")
    assert "alice@example.com" in report
    assert "alice@example.com" not in run.out
    assert "alice@example.com" not in run.summary
    assert "Journal: 16 lines in the artifact `hsprefs-apply`" in run.summary
    no_token_anywhere(run, journal.parent)


def test_apply_refused_by_the_guard_is_exit_1(runner: FakeRunner) -> None:
    """The mass-change guard's refusal: exit 1, the refusal as summary, nothing sent."""
    project = runner.workspace / "hsprefs.yaml"
    project.write_text(
        project.read_text("utf-8").replace("max_change_percent: 60", "max_change_percent: 5"),
        "utf-8",
    )
    run = runner.step("run", {"command": "apply"})
    assert run.code == 1
    assert run.outputs["exit-code"] == "1"
    assert run.outputs["summary"].startswith("hsprefs: error: refusing to apply: ")
    assert run.outputs["journal-path"] == ""


def test_apply_with_a_reviewed_plan(runner: FakeRunner) -> None:
    """plan-file: the saved plan of a plan step is applied as reviewed."""
    planned = runner.step("run", {"command": "plan"})
    plan_file = Path(planned.outputs["plan-path"])
    run = runner.step("run", {"command": "apply", "plan-file": str(plan_file)})
    assert run.code == 0, run.out + run.err
    assert f"Applying plan {json.loads(plan_file.read_text())['checksum']}" in run.out


def test_apply_without_plan_or_auto_approve_is_refused(runner: FakeRunner) -> None:
    """auto-approve: false and no plan-file: a one-line error, exit 1."""
    run = runner.step("run", {"command": "apply", "auto-approve": "false"})
    assert run.code == 1
    assert run.err == (
        "hsprefs-action: error: apply needs a reviewed plan (the plan-file input) or "
        "auto-approve: true\n"
    )
    assert run.outputs["exit-code"] == "1"


def test_audit_drift_and_fail_on_drift(runner: FakeRunner) -> None:
    """audit: exit code 2 (drift) is an output; the step fails only with fail-on-drift."""
    run = runner.step("run", {"command": "audit"})
    assert run.code == 0, run.out + run.err
    assert run.outputs["exit-code"] == "2"
    assert run.outputs["summary"] == "Audit: 15 managed: 6 in sync, 8 drifted, 1 blocked"
    html = Path(run.outputs["report-path"])
    assert html.name == "audit.html"
    assert "alice@example.com" not in html.read_text("utf-8")
    assert "::warning title=hsprefs audit::" in run.out
    failing = runner.step("run", {"command": "audit", "fail-on-drift": "true"})
    assert failing.code == 1
    assert failing.outputs["exit-code"] == "2"
    assert "::error title=hsprefs audit::" in failing.out
    no_token_anywhere(failing, html.parent)


def test_audit_in_sync_after_apply(runner: FakeRunner) -> None:
    """Drift gone after apply (the blocked pair still counts): exit 2, then in sync
    once the blocked pair is dropped from the config."""
    runner.step("run", {"command": "apply"})
    customers = runner.workspace / "subscribers" / "customers.yaml"
    text = customers.read_text("utf-8")
    frank = "  frank@example.com:\n    newsletter: subscribed"
    assert frank in text
    customers.write_text(text.replace(frank, "  frank@example.com:\n    newsletter: unsubscribed"))
    run = runner.step("run", {"command": "audit", "fail-on-drift": "true"})
    assert run.code == 0, run.out
    assert run.outputs["exit-code"] == "0"


def test_a_bad_input_is_one_line(runner: FakeRunner) -> None:
    """An unknown command input: one error line and exit 1."""
    run = runner.step("run", {"command": "destroy"})
    assert run.code == 1
    assert run.err == (
        "hsprefs-action: error: input command must be one of validate, plan, apply, audit, "
        "not 'destroy'\n"
    )


def test_comment_then_update(runner: FakeRunner, github: FakeGitHub) -> None:
    """The sticky comment is created once, then updated in place on the next push."""
    first = runner.step("run", {"command": "plan"})
    state = {"HSPREFS_STATE_DIR": first.outputs["state-dir"]}
    posted = runner.step("comment", {"github-token": GITHUB_TOKEN}, state)
    assert posted.code == 0, posted.out + posted.err
    assert [c.method for c in github.writes()] == ["POST"]
    assert len(github.bodies(7)) == 1
    assert posted.outputs["comment-url"].endswith("#issuecomment-1001")
    (runner.workspace / "subscribers" / "outdoor.yaml").unlink()
    project = runner.workspace / "hsprefs.yaml"
    project.write_text(project.read_text("utf-8").replace("  - subscribers/outdoor.yaml\n", ""))
    second = runner.step("run", {"command": "plan"})
    again = runner.step("comment", {"github-token": GITHUB_TOKEN}, state)
    assert again.code == 0, again.out + again.err
    assert [c.method for c in github.writes()] == ["POST", "PATCH"]
    assert github.writes()[1].path == "/repos/acme/config/issues/comments/1001"
    assert len(github.bodies(7)) == 1
    body = github.bodies(7)[0]
    assert body.startswith("<!-- hsprefs-plan-comment: . -->\n### hsprefs plan\n")
    assert second.outputs["summary"] in body
    assert "alice@example.com" not in body
    for call in github.calls:
        assert GITHUB_TOKEN not in json.dumps(call.body)
        assert HUBSPOT_TOKEN not in json.dumps(call.body)
    no_token_anywhere(again)


def test_comment_finds_its_marker_past_the_first_page(
    runner: FakeRunner, github: FakeGitHub
) -> None:
    """Other comments, over several pages, and one of another portal: only ours is edited."""
    github.page_size = 2
    for i in range(5):
        github.add_comment(7, f"looks good {i}")
    github.add_comment(7, "<!-- hsprefs-plan-comment: portals/eu -->\nanother portal")
    mine = github.add_comment(7, "<!-- hsprefs-plan-comment: . -->\nold plan")
    plan = runner.step("run", {"command": "plan"})
    done = runner.step(
        "comment", {"github-token": GITHUB_TOKEN}, {"HSPREFS_STATE_DIR": plan.outputs["state-dir"]}
    )
    assert done.code == 0, done.out + done.err
    assert [(c.method, c.path) for c in github.writes()] == [
        ("PATCH", f"/repos/acme/config/issues/comments/{mine['id']}")
    ]
    assert [c.query.get("page", ["1"]) for c in github.calls if c.method == "GET"] == [
        ["1"],
        ["2"],
        ["3"],
        ["4"],
    ]
    assert github.bodies(7)[5] == "<!-- hsprefs-plan-comment: portals/eu -->\nanother portal"


def test_comment_on_a_failed_plan(runner: FakeRunner, github: FakeGitHub) -> None:
    """A failed plan still updates the comment, with its error line."""
    runner.env["HUBSPOT_ACCESS_TOKEN"] = "pat-na1-wrong"
    plan = runner.step("run", {"command": "plan"})
    done = runner.step(
        "comment", {"github-token": GITHUB_TOKEN}, {"HSPREFS_STATE_DIR": plan.outputs["state-dir"]}
    )
    assert done.code == 0
    body = github.bodies(7)[0]
    assert body.startswith("<!-- hsprefs-plan-comment: . -->\n### hsprefs plan: no plan\n")
    assert "**hsprefs: error: HubSpot rejected the access token for GET" in body
    assert "[The job log](https://github.com/acme/config/actions/runs/4242)" in body


def test_comment_refused_by_github_is_one_line(runner: FakeRunner, github: FakeGitHub) -> None:
    """A token GitHub refuses: one line naming the call and the permission, exit 1."""
    plan = runner.step("run", {"command": "plan"})
    done = runner.step(
        "comment", {"github-token": "ghs_wrong"}, {"HSPREFS_STATE_DIR": plan.outputs["state-dir"]}
    )
    assert done.code == 1
    assert done.err == (
        "hsprefs-action: error: GitHub API GET /repos/acme/config/issues/7/comments answered "
        "401: Bad credentials (the job needs 'permissions: pull-requests: write', and a pull "
        "request from a fork gets a read-only token)\n"
    )


def test_no_comment_outside_a_pull_request(runner: FakeRunner, github: FakeGitHub) -> None:
    """A push event: the comment step says so and calls nothing."""
    runner.set_event("push", {"ref": "refs/heads/main"})
    plan = runner.step("run", {"command": "plan"})
    done = runner.step(
        "comment", {"github-token": GITHUB_TOKEN}, {"HSPREFS_STATE_DIR": plan.outputs["state-dir"]}
    )
    assert done.code == 0
    assert done.out == "No pull request in this push: no plan comment.\n"
    assert github.calls == []


def test_apply_then_journal_commit(runner: FakeRunner, origin: Path) -> None:
    """After apply, the journal lines land on main of the remote under journal/, in
    one file per month, with a commit message naming the plan checksum."""
    applied = runner.step("run", {"command": "apply"})
    journal = Path(applied.outputs["journal-path"]).read_text("utf-8").splitlines()
    done = runner.step(
        "journal",
        {"github-token": GITHUB_TOKEN},
        {"HSPREFS_STATE_DIR": applied.outputs["state-dir"]},
    )
    assert done.code == 0, done.out + done.err
    commit = done.outputs["journal-commit"]
    assert git(origin, "rev-parse", "main").strip() == commit
    month = json.loads(journal[0])["time"][:7]
    assert git(origin, "show", f"main:journal/{month}.jsonl").splitlines() == journal
    checksum = json.loads(journal[0])["plan_checksum"]
    assert git(origin, "log", "-1", "--format=%s", "main").strip() == (
        f"hsprefs journal: plan {checksum}"
    )
    assert "Journal committed: 16 lines appended to" in done.summary
    no_token_anywhere(done)


def test_comment_of_a_100000_change_plan(runner: FakeRunner, github: FakeGitHub) -> None:
    """The comment step posts a 100,000-change plan under GitHub's 65,536 characters
    (the stand-in refuses anything longer, as GitHub does)."""
    from .test_markdown import big_plan, document

    state = runner.root / "temp" / "hsprefs" / "plan"
    state.mkdir(parents=True)
    doc = document(big_plan(100_000, blocked=50, resubscribes=50), redact=True)
    (state / "plan-display.json").write_text(json.dumps(doc), "utf-8")
    result = {"exit_code": 2, "key": ".", "title": "hsprefs plan", "artifact_name": "hsprefs-plan"}
    (state / "result.json").write_text(json.dumps(result), "utf-8")
    done = runner.step(
        "comment",
        {"github-token": GITHUB_TOKEN},
        {"HSPREFS_STATE_DIR": str(state), "HSPREFS_ARTIFACT_URL": "https://x.test/a/1"},
    )
    assert done.code == 0, done.out + done.err
    (body,) = github.bodies(7)
    assert len(body) <= 65_536
    assert body.count("subscriber-") >= 300  # 50 blocked, 50 resubscribes, 200 changes
    assert "_Not shown here: 99,800 of 100,000 changes._" in body
    assert "[`hsprefs-plan`](https://x.test/a/1)" in body


def test_validate_masks_addresses_unless_asked_not_to(runner: FakeRunner) -> None:
    """A finding naming a subscriber: masked in the log and summary; redact: false shows it."""
    (runner.workspace / "subscribers" / "customers.yaml").write_text(
        "version: 1\nsubscribers:\n  alice@example.com:\n    nope: unsubscribed\n"
        "  Alice@example.com:\n    product: unsubscribed\n",
        "utf-8",
    )
    masked = runner.step("run", {"command": "validate"})
    assert masked.code == 1
    assert "lice@example.com" not in masked.out + masked.summary
    assert "subscriber-" in masked.out
    plain = runner.step("run", {"command": "validate", "redact": "false"})
    assert "alice@example.com" in plain.out.lower()
