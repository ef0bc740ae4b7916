"""The emulator's room: its public API, what it imports, who imports it, and secrets."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import reconciler.emulator

from .helpers import REPO, SyncClient, V, write_input

PACKAGE = REPO / "reconciler"


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, imported at module level?) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in top))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in top) for alias in node.names)
    return found


def test_all_is_sorted_and_complete() -> None:
    """reconciler.emulator.__all__ is sorted (constants, classes, functions) and complete."""
    names = list(reconciler.emulator.__all__)
    assert names == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    for name in reconciler.emulator.__all__:
        assert hasattr(reconciler.emulator, name), name


def test_the_emulator_imports_only_errors_from_the_package() -> None:
    """Emulator modules import nothing of hsprefs but reconciler.errors and themselves."""
    for path in sorted((PACKAGE / "emulator").glob("*.py")):
        for module, _ in _imports(path):
            if module.startswith("reconciler"):
                assert module == "reconciler.errors" or module.startswith("reconciler.emulator"), (
                    path.name,
                    module,
                )


def test_only_the_emulator_command_imports_the_emulator_and_lazily() -> None:
    """No module outside the emulator imports it, except the CLI command inside its function."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "emulator" in path.relative_to(PACKAGE).parts[:1]:
            continue
        for module, at_top in _imports(path):
            if module.startswith("reconciler.emulator"):
                assert path == PACKAGE / "cli" / "emulator_cmd.py", path
                assert not at_top, f"{path} imports {module} at module level"


def test_loading_the_cli_does_not_load_the_emulator() -> None:
    """Importing the CLI leaves reconciler.emulator (and starlette) unloaded."""
    code = (
        "import sys, reconciler.cli; "
        "print('reconciler.emulator' in sys.modules, 'starlette' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout == "False False\n"


def test_the_token_never_appears_in_answers(emulator: Callable[..., SyncClient]) -> None:
    """Neither a good nor a wrong token is echoed by any answer or admin dump."""
    secret = "tok-0123456789-very-secret"
    client = emulator(token=secret, auth=False)
    good = {"Authorization": f"Bearer {secret}"}
    bodies = [
        client.get(f"{V}/definitions", headers=good).text,
        client.get(f"{V}/definitions", headers={"Authorization": f"Bearer {secret}x"}).text,
        client.post(
            f"{V}/statuses/batch/write",
            json={"inputs": [write_input("a@example.com", 101, "SUBSCRIBED")]},
            headers=good,
        ).text,
        client.get("/_emulator/state").text,
        client.get("/_emulator/writes").text,
        client.get("/_emulator/requests").text,
        client.get("/_emulator/settings").text,
        client.get("/_emulator/info").text,
    ]
    assert not [b for b in bodies if secret in b]
