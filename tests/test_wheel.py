"""The built wheel carries the JSON Schemas and installs a working `hsprefs`."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

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
    """Installed from the wheel (outside the checkout), the package finds its schemas."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    # The test environment's site-packages must be visible to the venv, so that the
    # runtime dependencies are there without a download.
    site = [p for p in sys.path if p.endswith("site-packages")]
    (env_dir / "lib").mkdir(exist_ok=True)
    pth_dir = next((env_dir / "lib").glob("python3*/site-packages"))
    (pth_dir / "test-env.pth").write_text("\n".join(site) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(pth_dir),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import json, reconciler.resources as r;"
        "d = r.schema_dir(); names = r.schema_names();"
        "print(json.dumps({'dir': str(d), 'names': names,"
        " 'file': r.__file__}))"
    )
    out = subprocess.run(
        [str(py), "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    info = json.loads(out.stdout)
    assert info["file"].startswith(str(pth_dir))
    assert info["dir"].endswith("reconciler/_schemas")
    expected = sorted(p.name for p in (ROOT / "schemas").glob("*.json"))
    assert expected, "schemas/ must hold the JSON Schemas"
    assert info["names"] == expected
    version = subprocess.run(
        [str(py), "-m", "reconciler", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert version.stdout.startswith("hsprefs ")
