"""Hostile input at full size: one clear finding, no traceback, bounded memory.

Each case runs `hsprefs validate` in a fresh process that reports its own peak memory
(the limit is 200 MB). How long each takes is measured by bench/bench_validate.py, not
here: tests do not assert durations.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.config.conftest import ROOT

PROJECT = "version: 1\nsubscriptions: {newsletter: {id: '101'}}\ninclude: ['*.yaml']\n"
RUNNER = """
import io, json, sys, contextlib
from bench._memory import peak_rss_mb
from reconciler.cli import run
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    code = run(["validate", *sys.argv[1:]])
peak = peak_rss_mb()
print(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(), "peak_mb": peak}))
"""


def validate_in_child(folder: Path, *args: str) -> dict[str, object]:
    """Run validate in a fresh interpreter; its exit code, output and peak memory (MB)."""
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,  # a safety net against a hang, not a speed assertion
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _project(tmp_path: Path, name: str, data: bytes) -> Path:
    (tmp_path / "hsprefs.yaml").write_text(PROJECT)
    (tmp_path / name).write_bytes(data)
    return tmp_path


def _assert_one_finding(result: dict[str, object], line: str) -> None:
    assert result["code"] == 1
    assert result["err"] == ""
    assert result["out"] == f"{line}\n1 error in 1 file\n"
    assert isinstance(result["peak_mb"], float)
    assert result["peak_mb"] < 200


def test_the_child_reports_its_own_memory_not_its_parents(tmp_path: Path) -> None:
    """A big test process does not make its small validate child look big.

    A child started by vfork and exec inherits the parent's `ru_maxrss`; the measure must
    be the child's own, or these tests fail whenever the pytest worker has grown.
    """
    ballast = b"x" * 300_000_000  # resident in this process while the child runs
    subscriber = b"version: 1\nsubscribers:\n  a@example.com:\n    newsletter: subscribed\n"
    folder = _project(tmp_path, "ok.yaml", subscriber)
    result = validate_in_child(folder)
    assert len(ballast) == 300_000_000
    del ballast
    assert result["code"] == 0, result
    assert isinstance(result["peak_mb"], float)
    assert 5 < result["peak_mb"] < 200


def test_billion_laughs(tmp_path: Path) -> None:
    """A ten-level alias bomb stops at its first anchor; nothing is expanded."""
    lines = ["version: 1", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*{chr(96 + i)}"] * 9)
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [{refs}]")
    folder = _project(tmp_path, "bomb.yaml", ("\n".join(lines) + "\n").encode())
    _assert_one_finding(
        validate_in_child(folder),
        "bomb.yaml:2:4: error: YAML anchors and aliases (&a) are not supported; write the value "
        "out, or share settings with defaults and groups",
    )


def test_a_million_levels_of_nesting(tmp_path: Path) -> None:
    """1,000,000 nested brackets (libyaml's own composer would crash) are one finding."""
    depth = 1_000_000
    folder = _project(tmp_path, "deep.yaml", b"version: 1\nx: " + b"[" * depth + b"]" * depth)
    _assert_one_finding(
        validate_in_child(folder),
        "deep.yaml:2:35: error: the YAML is nested more than 32 levels deep; the config "
        "language needs far fewer",
    )


def test_deep_block_nesting(tmp_path: Path) -> None:
    """Deep nesting written with indentation is caught the same way."""
    text = "version: 1\n" + "".join(f"{' ' * i}k{i}:\n" for i in range(200)) + " " * 200 + "x\n"
    folder = _project(tmp_path, "deep.yaml", text.encode())
    _assert_one_finding(
        validate_in_child(folder),
        "deep.yaml:34:33: error: the YAML is nested more than 32 levels deep; the config "
        "language needs far fewer",
    )


def test_a_thirty_megabyte_scalar(tmp_path: Path) -> None:
    """A 30 MB value is refused with its size, never printed."""
    huge = b"version: 1\ndefaults: {legal_basis_explanation: '" + b"x" * 30_000_000 + b"'}\n"
    folder = _project(tmp_path, "huge.yaml", huge)
    _assert_one_finding(
        validate_in_child(folder),
        "huge.yaml:2:37: error: this value is 30,000,000 characters long; at most 10,000 are "
        "allowed",
    )


def test_a_huge_key_is_not_printed(tmp_path: Path) -> None:
    """A duplicate 9,000-character key is quoted short in the message."""
    key = "k" * 9000
    text = f"version: 1\n? {key}\n: 1\n? {key}\n: 2\n"
    folder = _project(tmp_path, "keys.yaml", text.encode())
    result = validate_in_child(folder)
    assert str(result["out"]).splitlines() == [
        "keys.yaml:2:3: error: unknown key '" + "k" * 39 + "…' in the file; allowed keys: "
        "version, business_unit, defaults, subscribers, groups",
        "keys.yaml:4:3: error: duplicate key '" + "k" * 59 + "…' (first at line 2, column 3); "
        "a key may appear only once in a mapping",
        "2 errors in 1 file",
    ]
    assert result["peak_mb"] < 200  # type: ignore[operator]


def test_fifty_thousand_duplicate_keys(tmp_path: Path) -> None:
    """Every duplicate key is reported, each at its own line."""
    data = b"version: 1\nsubscribers:\n" + b"".join(
        b"  a@example.com: {newsletter: unsubscribed}\n" for _ in range(50_000)
    )
    result = validate_in_child(_project(tmp_path, "dups.yaml", data))
    lines = str(result["out"]).splitlines()
    assert result["code"] == 1
    assert len(lines) == 50_000  # 49,999 duplicates and the summary
    assert lines[-1] == "49999 errors in 1 file"
    assert result["peak_mb"] < 200  # type: ignore[operator]


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    """A 40 MB file is refused from its size alone."""
    folder = _project(tmp_path, "big.yaml", b"#" * 40_000_000)
    _assert_one_finding(
        validate_in_child(folder),
        "big.yaml:1:1: error: the file is 38.1 MB; a file may be at most 32 MB (split it into "
        "several files)",
    )


def test_a_folder_of_thousands_of_files(tmp_path: Path) -> None:
    """5,000 files behind one pattern give one finding at the pattern."""
    (tmp_path / "many").mkdir()
    for index in range(5000):
        (tmp_path / "many" / f"f{index:05d}.yaml").write_bytes(b"version: 1\n")
    (tmp_path / "hsprefs.yaml").write_text("version: 1\ninclude: ['many/*.yaml']\n")
    _assert_one_finding(
        validate_in_child(tmp_path),
        "hsprefs.yaml:2:11: error: include 'many/*.yaml': with the patterns before it, it makes "
        "the project include more than 1,000 files, the most a project may include; merge "
        "small files",
    )


def test_symlink_loops(tmp_path: Path) -> None:
    """A link loop between files and a folder link to its parent end with findings."""
    (tmp_path / "hsprefs.yaml").write_text("version: 1\ninclude: ['x.yaml', 'dir/**/*.yaml']\n")
    (tmp_path / "x.yaml").symlink_to("x.yaml")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "up").symlink_to("..")
    (tmp_path / "dir" / "a.yaml").write_text("version: 1\n")
    result = validate_in_child(tmp_path)
    assert result["out"] == (
        "hsprefs.yaml:2:11: error: include 'x.yaml': x.yaml: it is a symbolic link loop; "
        "fix the link or remove it\n"
        "1 error in 1 file\n"
    )
    assert result["peak_mb"] < 200  # type: ignore[operator]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (
            b"version: 1\nsubscribers:\n  caf\xe9@example.com: {}\n",
            "bad.yaml:3:6: error: the file is not valid UTF-8 text (byte 0xE9); save it as UTF-8",
        ),
        (
            b"\xff\xfe\x00\x01garbage",
            "bad.yaml:1:1: error: the file is not valid UTF-8 text (byte 0xFF); save it as UTF-8",
        ),
        (
            b"version: 1\nsubscribers:\n\ta@example.com: {}\n",
            "bad.yaml:3:1: error: a tab character cannot indent YAML; indent with spaces",
        ),
        (
            b"version: 1\x00\n",
            "bad.yaml:1:11: error: control character U+0000 is not allowed in YAML; remove it",
        ),
    ],
    ids=["latin-1", "utf-16-garbage", "tab", "nul"],
)
def test_bad_bytes(tmp_path: Path, data: bytes, line: str) -> None:
    """Bytes that are not YAML text are one finding at their position."""
    _assert_one_finding(validate_in_child(_project(tmp_path, "bad.yaml", data)), line)
