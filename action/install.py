"""The action's setup step: install hsprefs, pinned, in a virtual environment.

Run with the runner's Python (the ``python`` input; 3.11 or newer). What is installed
(the ``version`` input):

- empty (the default): the copy of hsprefs that came with the action, that is the very
  commit the workflow pinned in ``uses: OWNER/hsprefs@SHA``;
- a tag or commit such as ``v1.2.0``: that ref of the action's own repository
  (``git+https://github.com/OWNER/hsprefs@v1.2.0``, OWNER/REPO read from the action's path);
- a pip requirement that names hsprefs (``hsprefs @ git+https://...@v1.2.0``,
  ``hsprefs==1.2.0``): as written.

The environment is ``$RUNNER_TEMP/hsprefs-venv``; a second use of the action in the same
job with the same requirement reuses it. Outputs: ``python`` (the environment's
interpreter, which runs the other steps) and ``hsprefs-version``; the environment's
``bin`` folder is added to ``$GITHUB_PATH`` so later steps can run ``hsprefs`` too.

Only the standard library, and code that still parses on old Pythons, so a runner with
an older ``python3`` gets a clear line instead of a syntax error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

MINIMUM = (3, 11)
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}")


class InstallError(Exception):
    pass


def action_repository(action_path: str) -> str | None:
    """``OWNER/REPO`` from the runner's action folder ``.../_actions/OWNER/REPO/REF``."""
    parts = Path(action_path).parts
    if "_actions" in parts:
        index = len(parts) - 1 - parts[::-1].index("_actions")
        if len(parts) >= index + 3:
            return f"{parts[index + 1]}/{parts[index + 2]}"
    return None


def requirement(version: str, action_path: str, server_url: str = "https://github.com") -> str:
    """What pip installs for the ``version`` input (see the module docstring)."""
    version = version.strip()
    if not version:
        return action_path
    if version.startswith("hsprefs"):
        return version
    if not _REF.fullmatch(version) or ".." in version:
        raise InstallError(
            f"input version {version!r} is neither a tag or commit nor a requirement "
            "naming hsprefs (such as 'hsprefs @ git+https://github.com/OWNER/hsprefs@v1.2.0')"
        )
    repository = action_repository(action_path)
    if repository is None:
        raise InstallError(
            "input version names a tag, but the action's repository cannot be told from "
            f"its path {action_path}; give a full requirement instead "
            "('hsprefs @ git+https://github.com/OWNER/hsprefs@TAG')"
        )
    return f"hsprefs @ git+{server_url.rstrip('/')}/{repository}@{version}"


def _bin(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(text)


def install(environ: dict[str, str]) -> Path:
    """Create (or reuse) the environment and install hsprefs; its interpreter."""
    action_path = environ.get("GITHUB_ACTION_PATH") or str(Path(__file__).resolve().parent.parent)
    wanted = requirement(
        environ.get("INPUT_VERSION", ""),
        action_path,
        environ.get("GITHUB_SERVER_URL", "https://github.com"),
    )
    temp = environ.get("RUNNER_TEMP") or str(Path.cwd() / ".hsprefs")
    venv = Path(environ.get("HSPREFS_ACTION_VENV") or Path(temp) / "hsprefs-venv")
    python = _bin(venv) / ("python.exe" if os.name == "nt" else "python")
    stamp = venv / "hsprefs-requirement.txt"
    if python.exists() and stamp.exists() and stamp.read_text("utf-8") == wanted:
        print(f"hsprefs is already installed in {venv} ({wanted})")
        return python
    print(f"Installing {wanted} in {venv}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            wanted,
        ],
        check=True,
    )
    stamp.write_text(wanted, "utf-8")
    return python


def main() -> int:
    if sys.version_info < MINIMUM:
        found = ".".join(map(str, sys.version_info[:3]))
        print(
            f"::error title=hsprefs action::hsprefs needs Python 3.11 or newer, and "
            f"{sys.executable} is {found}: add actions/setup-python before this step or "
            "set the python input"
        )
        return 1
    environ = dict(os.environ)
    try:
        python = install(environ)
    except InstallError as exc:
        print(f"::error title=hsprefs action::{exc}")
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"::error title=hsprefs action::installing hsprefs failed (exit {exc.returncode})")
        return 1
    version = subprocess.run(  # noqa: S603
        [str(python), "-m", "reconciler", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(version or "hsprefs (version unknown)")
    _append(environ.get("GITHUB_OUTPUT"), f"python={python}\nhsprefs-version={version}\n")
    _append(environ.get("GITHUB_PATH"), f"{python.parent}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
