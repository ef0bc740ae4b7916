"""The built wheel carries the JSON Schemas and installs a working `hsprefs`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from reconciler import __version__

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("hsprefs-*.whl")
    return found


def test_wheel_installs_and_loads_schemas(wheel: Path, tmp_path: Path) -> None:
    """Installed from the wheel (outside the checkout), `hsprefs` runs and finds its schemas."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    # The test environment's site-packages must be visible to the venv, so that the
    # runtime dependencies are there without a download.
    site = [p for p in sys.path if p.endswith("site-packages")]
    pth_dir = next((env_dir / "lib").glob("python3*/site-packages"))
    (pth_dir / "test-env.pth").write_text("\n".join(site) + "\n")
    # pip --python installs into the new venv as its own pip would: the console script
    # lands in its bin/ with the venv's interpreter on the shebang line.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import json, reconciler.resources as r;"
        "print(json.dumps({'dir': str(r.schema_dir()), 'names': r.schema_names(),"
        " 'file': r.__file__, 'project': r.load_schema('project.schema.json')}))"
    )
    out = subprocess.run(
        [str(py), "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    info = json.loads(out.stdout)
    assert info["file"] == str(pth_dir / "reconciler" / "resources.py")
    assert info["dir"] == str(pth_dir / "reconciler" / "_schemas")
    expected = sorted(p.name for p in (ROOT / "schemas").glob("*.json"))
    assert expected, "schemas/ must hold the JSON Schemas"
    assert info["names"] == expected
    shipped = json.loads((ROOT / "schemas" / "project.schema.json").read_text(encoding="utf-8"))
    assert info["project"] == shipped
    hsprefs = env_dir / "bin" / "hsprefs"
    version = subprocess.run(
        [str(hsprefs), "--version"], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert version.stdout == f"hsprefs {__version__}\n"
    # validate reads the schemas: the installed program checks a config outside the repo.
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    checked = subprocess.run(
        [str(hsprefs), "validate", "examples"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert (checked.returncode, checked.stderr) == (0, "")
    assert checked.stdout == "ok: 4 files, 10 subscribers, 12 managed statuses, 3 opt-out flags\n"


def test_wheel_carries_the_full_license_and_notice(wheel: Path) -> None:
    """The wheel ships the whole Apache-2.0 text and the project's NOTICE."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        licence = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        notice = next(n for n in names if n.endswith(".dist-info/licenses/NOTICE"))
        text = archive.read(licence).decode()
        assert archive.read(notice).decode().startswith("hsprefs\nCopyright 2026")
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert b"License-Expression: Apache-2.0" in metadata
