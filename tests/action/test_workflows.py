"""The action and the copyable workflows: valid against GitHub's schemas, clean under
zizmor (offline), and shaped as the docs promise (pinned actions, least permissions,
no persisted credentials, full history, the token only in env)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .fakes import ROOT

ACTION = ROOT / "action.yml"
EXAMPLES = ROOT / "examples" / "github"
WORKFLOWS = sorted(EXAMPLES.rglob("*.yml"))
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")
OUR_ACTION = "your-org/hsprefs@0000000000000000000000000000000000000000"


def tool(name: str) -> str:
    """A dev tool installed beside this interpreter (the dev extra brings it)."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is missing: install the dev extra (pip install -e '.[dev]')"
    return str(path)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text("utf-8"))
    if True in data:  # YAML 1.1 reads the key 'on' as a boolean
        data["on"] = data.pop(True)
    return data


def zizmor(*paths: Path, persona: str = "regular", cwd: Path = ROOT) -> list[dict[str, Any]]:
    done = subprocess.run(
        [
            tool("zizmor"),
            "--offline",
            "--no-progress",
            "--format",
            "json",
            "--persona",
            persona,
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def test_there_are_workflows() -> None:
    """pull_request, push and schedule, for one portal and for several."""
    names = {str(p.relative_to(EXAMPLES)) for p in WORKFLOWS}
    assert names == {
        "hsprefs-plan.yml",
        "hsprefs-apply.yml",
        "hsprefs-audit.yml",
        "several-portals/hsprefs-plan.yml",
        "several-portals/hsprefs-apply.yml",
        "several-portals/hsprefs-audit.yml",
    }


def test_the_action_matches_githubs_schema() -> None:
    """action.yml is a valid action (check-jsonschema's vendored schema, offline)."""
    done = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(ACTION)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflows_match_githubs_schema() -> None:
    """Every example workflow is valid against GitHub's workflow schema."""
    done = subprocess.run(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("persona", ["regular", "auditor"])
def test_zizmor_finds_nothing_medium_or_high(persona: str) -> None:
    """zizmor --offline: no medium or high finding in the action or the workflows."""
    findings = zizmor(ACTION, *WORKFLOWS, persona=persona)
    serious = [
        (f["ident"], f["locations"][0]["symbolic"]["key"], f["desc"])
        for f in findings
        if f["determinations"]["severity"] in ("Medium", "High")
    ]
    assert serious == []


def test_zizmor_would_catch_a_bad_workflow(tmp_path: Path) -> None:
    """The check can fail: a workflow with an injection, a tag pin and persisted
    credentials is reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: bad\non: pull_request\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-24.04\n"
        "    permissions: {contents: read}\n    steps:\n      - uses: actions/checkout@v4\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n',
        "utf-8",
    )
    found = {f["ident"] for f in zizmor(bad, cwd=tmp_path)}
    assert {"template-injection", "artipacked", "unpinned-uses"} <= found


def steps_of(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(name, job, step) for name, job in workflow["jobs"].items() for step in job["steps"]]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_workflow_shape(path: Path) -> None:
    """No permissions by default, each job's own; actions pinned by commit; checkouts
    keep no credentials; the plan, apply and audit jobs have the whole history; the
    HubSpot token is passed in env only."""
    workflow = load(path)
    assert workflow["permissions"] == {}
    text = path.read_text("utf-8")
    assert text.count("secrets.") == text.count(
        "HUBSPOT_ACCESS_TOKEN: ${{ secrets.HUBSPOT_ACCESS_TOKEN }}"
    )
    for name, job, step in steps_of(workflow):
        assert "permissions" in job, name
        uses = step.get("uses")
        if uses is None:
            continue
        assert PINNED.fullmatch(uses), uses
        if uses.startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
        if uses == OUR_ACTION:
            command = step["with"]["command"]
            assert "HUBSPOT_ACCESS_TOKEN" not in json.dumps(step.get("with", {}))
            if command in ("plan", "apply", "audit"):
                checkout = job["steps"][0]
                assert checkout["uses"].startswith("actions/checkout@")
                assert checkout["with"]["fetch-depth"] == 0
                assert step["env"] == {
                    "HUBSPOT_ACCESS_TOKEN": "${{ secrets.HUBSPOT_ACCESS_TOKEN }}"
                }
                assert "environment" in job


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_workflows_use_only_the_actions_inputs(path: Path) -> None:
    """Every input given to the action exists in action.yml; required ones are given."""
    inputs = load(ACTION)["inputs"]
    required = {name for name, spec in inputs.items() if spec.get("required")}
    for _name, _job, step in steps_of(load(path)):
        if step.get("uses") == OUR_ACTION:
            given = set(step["with"])
            assert given <= set(inputs), given - set(inputs)
            assert required <= given


def test_applies_never_overlap() -> None:
    """The apply workflows: one apply at a time per portal, never cancelled half-way,
    behind an environment, allowed to push the journal."""
    for path in (
        EXAMPLES / "hsprefs-apply.yml",
        EXAMPLES / "several-portals" / "hsprefs-apply.yml",
    ):
        workflow = load(path)
        (job,) = workflow["jobs"].values()
        concurrency = workflow.get("concurrency") or job["concurrency"]
        assert concurrency["cancel-in-progress"] is False
        assert concurrency["group"].startswith("hsprefs-apply-")
        assert job["environment"]
        assert job["permissions"] == {"contents": "write"}
    matrix = load(EXAMPLES / "several-portals" / "hsprefs-apply.yml")["jobs"]["apply"]
    assert matrix["concurrency"]["group"] == "hsprefs-apply-${{ matrix.portal }}"
    assert [p["portal"] for p in matrix["strategy"]["matrix"]["include"]] == [
        "sandbox",
        "production",
    ]


def test_the_pull_request_workflow_validates_then_plans() -> None:
    """validate for every pull request (forks too), then plan with the secret."""
    workflow = load(EXAMPLES / "hsprefs-plan.yml")
    assert list(workflow["on"]) == ["pull_request"]
    validate, plan = workflow["jobs"]["validate"], workflow["jobs"]["plan"]
    assert validate["permissions"] == {"contents": "read"}
    assert "secrets." not in json.dumps(validate)
    assert plan["needs"] == "validate"
    assert plan["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert plan["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


def test_the_action_uses_env_indirection() -> None:
    """No expression is pasted into a shell line of the action; each step's INPUT_*
    variables come from the input of the same name; every input is used."""
    action = load(ACTION)
    text = ACTION.read_text("utf-8")
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], step["name"]
            assert step["shell"] == "bash"
        for key, value in step.get("env", {}).items():
            if key.startswith("INPUT_"):
                name = key.removeprefix("INPUT_").lower().replace("_", "-")
                assert value == f"${{{{ inputs.{name} }}}}", key
        if "uses" in step:
            assert PINNED.fullmatch(step["uses"]), step["uses"]
    for name in action["inputs"]:
        assert f"inputs.{name} }}}}" in text or f"inputs.{name} ==" in text, name


def test_the_scripts_read_only_inputs_the_action_passes() -> None:
    """Every input the scripts read reaches them: the step that reads it sets INPUT_*."""
    read = set()
    for path in (ROOT / "action" / "hsprefs_action").glob("*.py"):
        read |= set(re.findall(r'\.(?:input|flag|number)\(\s*"([a-z-]+)"', path.read_text("utf-8")))
    passed = set()
    for step in load(ACTION)["runs"]["steps"]:
        for key in step.get("env", {}):
            if key.startswith("INPUT_"):
                passed.add(key.removeprefix("INPUT_").lower().replace("_", "-"))
    assert read - {"version"} <= passed, read - passed
