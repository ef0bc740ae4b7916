"""Fuzzing hostile config repositories: findings or a state, never anything else.

The strategies (tests/config/strategies.py) write whole config repositories: YAML and
CSV damaged every way a careless or hostile hand could, wrong types in every field of
the schemas, and links, folders and FIFOs where files belong. For each, in-process:

- ``config.check`` returns findings or a state, and ``config.load`` raises nothing but
  ``ConfigError``;
- ``hsprefs validate`` exits 0 with its ok line, or 1 with ``file:line:column`` findings
  and a summary, and never an internal error;
- ``hsprefs plan`` (with a transport that records every request) stops at a config
  error before any call, with one line naming the first finding.

A few repositories with large hostile files run as whole processes, each under a 1 GiB
address-space limit and a 20 s timeout: the bounds are part of the invariant, not a
speed test. Short under the ``ci`` and ``dev`` hypothesis profiles, long under ``soak``
(``make soak``).
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from referencing import Registry, Resource

from reconciler.cli import run
from reconciler.client import RetryPolicy
from reconciler.config import check, load
from reconciler.config._files import read_bounded
from reconciler.errors import ConfigError
from tests.config.conftest import ROOT
from tests.config.strategies import (
    BASE_PROJECT,
    BASE_SUBSCRIBERS,
    WRONG,
    Repo,
    big_repos,
    dump,
    materialize,
    put,
    repos,
    schema_fields,
    show,
)
from tests.config.strategies import base_files as _base_files

LIMIT_SECONDS = 20
LIMIT_BYTES = 1024**3
FINDING = re.compile(r"^\S.*:\d+:\d+: (error|warning): \S.*$")
SUMMARY = re.compile(r"^(\d+ errors?)?(, )?(\d+ warnings?)? in \d+ files?$")
WARNING = re.compile(r"^\S.*:\d+:\d+: warning: \S.*$")
ERROR_LINE = re.compile(r"^hsprefs: error: \S.*$")
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class _Overrun(Exception):
    pass


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail (rather than hang the suite) when the body runs longer than ``seconds``: a
    loader that blocked on a FIFO would otherwise stop the run for good."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise _Overrun(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def built(repo: Repo) -> Iterator[Path]:
    """``repo`` written to a fresh folder; yields the repository root."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        materialize(repo, root, Path(tmp) / "outside")
        yield root


class _Recorder:
    """A transport that answers every request 401 and remembers it."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        return httpx.Response(
            401, json={"status": "error", "category": "INVALID_AUTHENTICATION", "message": "no"}
        )


def hsprefs(root: Path, *args: str, transport: Any = None) -> tuple[int, str, str]:
    """The CLI in-process (click's runner isolates its streams), run in ``root``."""
    env = {
        "HUBSPOT_ACCESS_TOKEN": "pat-fuzz-token",
        "HSPREFS_API_URL": "http://127.0.0.1",
        "HSPREFS_API_VERSION": None,
        "HSPREFS_API_MODE": None,
        "CI": None,
    }
    here = os.getcwd()
    os.chdir(root)
    try:
        with CliRunner().isolation(env=env) as (out, err, _):
            code = run(list(args), transport=transport, retry=RetryPolicy.instant())
            stdout, stderr = out.getvalue(), err.getvalue()
    finally:
        os.chdir(here)
    # Output that is not UTF-8 (a lone surrogate let through) fails here.
    return code, stdout.decode("utf-8"), stderr.decode("utf-8")


def assert_clean(root: Path) -> None:
    """The invariant: findings or a state, one-line messages, no other exception."""
    with deadline(LIMIT_SECONDS):
        state, findings = check([root])
        assert (state is None) == any(f.severity == "error" for f in findings)
        for finding in findings:
            assert finding.line >= 1
            assert finding.column >= 1
            assert finding.message.strip()
            assert "\n" not in finding.message
            assert len(finding.message) < 600
        if state is None:
            with pytest.raises(ConfigError) as caught:
                load([root])
            assert caught.value.findings
        else:
            load([root])

        code, out, err = hsprefs(root, "validate")
        assert code in (0, 1), (code, out, err)
        assert "internal error" not in err and "Traceback" not in err, err
        assert not UNSAFE.search(out), out
        lines = out.splitlines()
        if code == 0:
            assert state is not None
            assert err == ""
            assert lines[-1].startswith("ok: "), out
            assert all(FINDING.match(line) for line in lines[:-1]), out
        else:
            assert state is None
            assert err == "", err
            assert lines, out
            assert SUMMARY.match(lines[-1]), out
            assert all(FINDING.match(line) for line in lines[:-1]), out
            assert any(": error: " in line for line in lines[:-1]), out

        code_json, out, err = hsprefs(root, "validate", "--format", "json")
        assert (code_json, err) == (code, ""), err
        report = json.loads(out)
        assert len(report["findings"]) == len(findings)

        if (root / "subscribers" / "customers.yaml").is_file():
            # A subscriber file given alone is checked against the project above it.
            code, out, err = hsprefs(root, "validate", "subscribers/customers.yaml")
            assert code in (0, 1), (code, out, err)
            assert "internal error" not in err and "Traceback" not in err, err

        recorder = _Recorder()
        code, out, err = hsprefs(root, "plan", transport=httpx.MockTransport(recorder))
        assert code == 1, (code, out, err)
        assert out == ""
        assert "internal error" not in err and "Traceback" not in err, err
        shown = [line for line in err.splitlines() if not WARNING.match(line)]
        assert len(shown) == 1 and ERROR_LINE.match(shown[0]), err
        assert not UNSAFE.search(err), err
        if state is None:
            # A config error is found before any call, and named by file:line:column.
            assert recorder.requests == []
            assert re.match(r"^hsprefs: error: \S+:\d+:\d+: ", shown[0]), err
        else:
            assert recorder.requests, "a valid config is planned against HubSpot"


@given(repo=repos())
@settings(
    max_examples=max(10, settings.default.max_examples // 2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_hostile_repositories_give_findings_never_another_error(repo: Repo) -> None:
    """Any damage to a config repository ends in findings (or a state), and validate
    and plan end in hsprefs' own error line: never a traceback or a call to HubSpot."""
    with built(repo) as root:
        assert_clean(root)


def test_the_undamaged_repository_is_valid() -> None:
    """The repository the strategies damage is itself valid, so damage is what fails."""
    with built(Repo(tuple(sorted(_base_files().items())), ())) as root:
        state, findings = check([root])
        assert [f for f in findings if f.severity == "error"] == []
        assert state is not None
        assert len(state.statuses) == 8
        assert_clean(root)


# -- wrong types in every field --------------------------------------------------------

FIELDS = schema_fields()


def _registry() -> Registry:
    registry: Registry = Registry()
    for path in (ROOT / "schemas").glob("*.schema.json"):
        registry = registry.with_resource(
            path.name, Resource.from_contents(json.loads(path.read_text("utf-8")))
        )
    return registry


REGISTRY = _registry()


VALIDATORS = {
    file: jsonschema.Draft202012Validator({"$ref": f"{top}#"}, registry=REGISTRY)
    for file, top in (
        ("hsprefs.yaml", "project.schema.json"),
        ("subscribers/customers.yaml", "subscribers.schema.json"),
    )
}


def _allowed(file: str, doc: Any) -> bool:
    """Whether the document passes its JSON Schema (dates as ISO text, as YAML gives)."""
    return bool(VALIDATORS[file].is_valid(json.loads(json.dumps(doc, default=str))))


def test_every_field_of_every_schema_is_reached() -> None:
    """The wrong-type damage reaches every property the schemas declare."""
    assert len(FIELDS) > 40
    names = {show(path) for _, path in FIELDS}
    for expected in [
        "portal.id",
        "portal.api_mode",
        "brands.*",
        "subscriptions.*.business_unit",
        "policy.revert_newer_changes",
        "include.[]",
        "subscribers.*.unsubscribe_all",
        "subscribers.*.*.as_of",
        "groups.*.members.[]",
        "groups.*.set.*.legal_basis_explanation",
    ]:
        assert expected in names
    for file, path in FIELDS:
        doc = copy.deepcopy(BASE_PROJECT if file == "hsprefs.yaml" else BASE_SUBSCRIBERS)
        assert put(doc, path, "x") >= 1, f"the base documents lack {show(path)}"


@pytest.mark.parametrize(("file", "path"), FIELDS, ids=[f"{f}:{show(p)}" for f, p in FIELDS])
def test_a_wrong_type_in_each_field(file: str, path: tuple[Any, ...]) -> None:
    """Each field given a list, a mapping, an integer (small, huge, negative), a
    boolean, null, a float, text and a date: a value the schema refuses is an error
    finding in that file, and nothing ever raises."""
    for kind, value in WRONG.items():
        doc = copy.deepcopy(BASE_PROJECT if file == "hsprefs.yaml" else BASE_SUBSCRIBERS)
        put(doc, path, value)
        files = dict(_base_files())
        files[file] = dump(doc)
        with built(Repo(tuple(sorted(files.items())), (kind,))) as root:
            state, findings = check([root])
            errors = [f for f in findings if f.severity == "error"]
            assert (state is None) == bool(errors)
            if kind != "date" and not _allowed(file, doc):
                assert any(f.file.endswith(file) for f in errors), (kind, findings)
            if kind == "map":
                assert_clean(root)


# -- whole processes: the time and memory bounds ---------------------------------------

CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from reconciler.cli import run
sys.exit(run(sys.argv[1:]))
"""


def run_bounded(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """hsprefs in a child limited to 1 GiB of address space; over 20 s fails the test."""
    env = {
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
        "HUBSPOT_ACCESS_TOKEN": "pat-fuzz-token",
        "HSPREFS_API_URL": "http://127.0.0.1:9",  # nothing listens: no call may be needed
        "HSPREFS_LOCK_DIR": str(root.parent / "locks"),
    }
    try:
        return subprocess.run(
            [sys.executable, "-c", CHILD.format(limit=LIMIT_BYTES), *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=LIMIT_SECONDS,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"hsprefs {' '.join(args)} ran over {LIMIT_SECONDS} s")


def assert_bounded(root: Path) -> None:
    done = run_bounded(root, "validate")
    assert done.returncode in (0, 1), done
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    if done.returncode == 1:
        assert SUMMARY.match(lines[-1]), lines[-3:]
        assert all(FINDING.match(line) for line in lines[:-1][:1000])
        planned = run_bounded(root, "plan")
        assert planned.returncode == 1
        assert planned.stdout == ""
        assert re.match(r"^hsprefs: error: \S+:\d+:\d+: ", planned.stderr), planned.stderr
        assert len(planned.stderr.splitlines()) == 1, planned.stderr
    else:
        assert lines[-1].startswith("ok: ")


PROCESS_EXAMPLES = max(4, settings.default.max_examples // 25)


@given(repo=big_repos())
@settings(
    max_examples=PROCESS_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_large_hostile_repositories_stay_within_20_s_and_1_gib(repo: Repo) -> None:
    """Large hostile files (31 MB scalars, a million brackets, alias bombs, 50,000
    duplicate keys, thousands of files, a 100,000-line roster) end in findings within
    20 s and 1 GiB, checked in a fresh process for each."""
    with built(repo) as root:
        assert_bounded(root)


@pytest.mark.parametrize("where", ["hsprefs.yaml", "subscribers/customers.yaml", "roster"])
def test_a_fifo_never_blocks_a_whole_run(tmp_path: Path, where: str) -> None:
    """A FIFO as the project file, an included file or a roster: the run ends at once
    (nothing ever opens the FIFO for writing here)."""
    root = tmp_path / "repo"
    files = dict(_base_files())
    name = "subscribers/partners.csv" if where == "roster" else where
    del files[name]
    materialize(Repo(tuple(sorted(files.items())), ()), root, tmp_path / "outside")
    os.mkfifo(root / name)
    assert_clean(root)  # within its deadline
    code, out, _err = hsprefs(root, "validate")
    assert code == 1
    assert "not a regular file" in out or f"no {name}" in out, out


# -- regressions the fuzz found ----------------------------------------------------------


def test_a_nul_in_an_include_pattern_is_a_finding(tmp_path: Path) -> None:
    """An include pattern with a NUL (written \\x00 in double quotes) was a ValueError."""
    (tmp_path / "hsprefs.yaml").write_text('version: 1\ninclude: ["sub\\x00/*.yaml"]\n')
    code, out, err = hsprefs(tmp_path, "validate")
    assert (code, err) == (1, "")
    assert out == (
        "hsprefs.yaml:2:11: error: include 'sub\\x00/*.yaml': a path cannot contain a NUL "
        "character (\\x00); remove it\n1 error in 1 file\n"
    )


def test_a_nul_in_a_members_file_is_a_finding(tmp_path: Path) -> None:
    """A members_file with a NUL was a ValueError ("embedded null byte") from stat."""
    (tmp_path / "hsprefs.yaml").write_text(
        "version: 1\nsubscriptions: {newsletter: {id: '101'}}\ninclude: ['*.yaml']\n"
    )
    (tmp_path / "a.yaml").write_text(
        'version: 1\ngroups: {g: {members_file: "a\\x00.csv", set: {newsletter: unsubscribed}}}\n'
    )
    code, out, err = hsprefs(tmp_path, "validate")
    assert (code, err) == (1, "")
    assert out == (
        "a.yaml:2:28: error: members_file 'a\\x00.csv': a path cannot contain a NUL "
        "character (\\x00); remove it\n1 error in 1 file\n"
    )


def test_a_file_swapped_for_a_fifo_after_its_stat_is_not_opened_blocking(
    tmp_path: Path,
) -> None:
    """A file that turns into a FIFO between the size check and the open is refused,
    never waited on: the open does not block and the opened file is checked again."""
    regular = tmp_path / "regular.yaml"
    regular.write_text("version: 1\n")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)

    class Swapped(type(fifo)):  # type: ignore[misc]
        def stat(self, **kwargs: Any) -> os.stat_result:  # the race: the stat saw a file
            return os.stat(regular)

    with deadline(5), pytest.raises(Exception, match="this is not a regular file"):
        read_bounded(Swapped(fifo))


def test_a_status_that_is_a_list_or_a_mapping_is_a_finding(tmp_path: Path) -> None:
    """A long-form status that is a list was a TypeError (unhashable) in the loader."""
    (tmp_path / "hsprefs.yaml").write_text(
        "version: 1\nsubscriptions: {newsletter: {id: '101'}, events: {id: '103'}}\n"
        "include: ['*.yaml']\n"
    )
    (tmp_path / "a.yaml").write_text(
        "version: 1\nsubscribers:\n  a@example.com:\n    newsletter: {status: [1, two]}\n"
        "    events: {status: {a: b}}\n"
    )
    code, out, err = hsprefs(tmp_path, "validate")
    assert (code, err) == (1, "")
    assert out == (
        "a.yaml:4:18: error: 'status' must be subscribed, unsubscribed or not_specified, "
        "not a list\n"
        "a.yaml:5:14: error: 'status' must be subscribed, unsubscribed or not_specified, "
        "not a mapping\n"
        "2 errors in 1 file\n"
    )
