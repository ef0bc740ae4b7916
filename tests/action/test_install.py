"""The action's setup step: which hsprefs it installs, and that the installed one runs
the other steps."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import install
import pytest

from .fakes import ROOT, parse_outputs

ACTION_PATH = "/home/runner/work/_actions/acme/hsprefs/0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    ("version", "wanted"),
    [
        ("", ACTION_PATH),
        ("v1.2.0", "hsprefs @ git+https://github.com/acme/hsprefs@v1.2.0"),
        ("0123abc", "hsprefs @ git+https://github.com/acme/hsprefs@0123abc"),
        ("hsprefs==1.2.0", "hsprefs==1.2.0"),
        (
            "hsprefs @ git+https://github.com/other/hsprefs@v2",
            "hsprefs @ git+https://github.com/other/hsprefs@v2",
        ),
    ],
)
def test_what_the_version_input_installs(version: str, wanted: str) -> None:
    """Empty: the action's own copy; a tag or commit: that ref of the action's
    repository; a requirement naming hsprefs: as written."""
    assert install.requirement(version, ACTION_PATH) == wanted


@pytest.mark.parametrize("version", ["-e .", "x; rm -rf /", "../../elsewhere", "--index-url=x"])
def test_a_version_that_is_neither_is_refused(version: str) -> None:
    """Anything else is refused before pip sees it."""
    with pytest.raises(install.InstallError, match="is neither a tag or commit nor"):
        install.requirement(version, ACTION_PATH)


def test_a_tag_needs_the_actions_repository() -> None:
    """A local action (uses: ./) has no OWNER/REPO in its path: a tag cannot be resolved."""
    assert install.action_repository("/home/runner/work/config/config") is None
    with pytest.raises(install.InstallError, match="give a full requirement instead"):
        install.requirement("v1", "/home/runner/work/config/config")


def test_an_old_python_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Python before 3.11: an error annotation saying what to do, exit 1."""
    monkeypatch.setattr(install.sys, "version_info", (3, 10, 12, "final", 0))
    assert install.main() == 1
    out = capsys.readouterr().out
    assert out.startswith("::error title=hsprefs action::hsprefs needs Python 3.11 or newer")
    assert out.endswith("add actions/setup-python before this step or set the python input\n")


def test_install_then_run_a_step_with_the_installed_hsprefs(tmp_path: Path) -> None:
    """install.py installs the action's own copy in a new environment, says where its
    Python is, and that Python runs a step; a second use reuses the environment."""
    source = tmp_path / "action-copy"
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    output = tmp_path / "output.txt"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INPUT_", "GITHUB_", "VIRTUAL_ENV"))
    }
    env.update(
        {
            "RUNNER_TEMP": str(tmp_path / "temp"),
            "GITHUB_ACTION_PATH": str(source),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_PATH": str(tmp_path / "path.txt"),
        }
    )
    done = subprocess.run(
        [sys.executable, str(source / "action" / "install.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    outputs = parse_outputs(output.read_text("utf-8"))
    python = Path(outputs["python"])
    assert python == tmp_path / "temp" / "hsprefs-venv" / "bin" / "python"
    assert outputs["hsprefs-version"].startswith("hsprefs ")
    assert (tmp_path / "path.txt").read_text("utf-8") == f"{python.parent}\n"
    again = subprocess.run(
        [sys.executable, str(source / "action" / "install.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert again.stdout.startswith(f"hsprefs is already installed in {python.parents[1]}")
    workspace = tmp_path / "config"
    shutil.copytree(ROOT / "examples", workspace, ignore=shutil.ignore_patterns("*.py", "github"))
    env.update(
        {
            "INPUT_COMMAND": "validate",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(output),
        }
    )
    output.write_text("", "utf-8")
    step = subprocess.run(
        [str(python), str(source / "action" / "run.py"), "run"],
        env=env,
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert step.returncode == 0, step.stdout + step.stderr
    assert step.stdout == "ok: 4 files, 10 subscribers, 12 managed statuses, 3 opt-out flags\n"
