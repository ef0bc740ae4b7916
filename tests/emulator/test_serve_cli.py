"""`hsprefs emulator serve` refuses what cannot work with one line, before its contract
lines: a --db it cannot write, a --host that is not this machine's, a bad --retry-after.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import run
from reconciler.emulator.store import Store

HOST_HINT = "(give --host an address of this machine, such as 127.0.0.1, ::1 or 0.0.0.0)"


def _without_privileges() -> list[str]:
    """A command prefix under which file permissions hold (root ignores them otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only file is writable")
    # With an empty capability bounding set, root is bound by mode bits like anyone.
    return [setpriv, "--bounding-set", "-all", "--"]


def test_a_read_only_database_is_refused_before_the_contract_lines(tmp_path: Path) -> None:
    """An existing --db that cannot be written: exit 1, one line naming it, no stdout."""
    db = tmp_path / "emulator.db"
    Store(str(db)).close()
    db.chmod(0o444)
    prefix = _without_privileges()
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", f"open({str(db)!r}, 'a')"],
        capture_output=True,
        check=False,
    )
    if probe.returncode == 0:
        pytest.skip("this machine lets the test write a read-only file")
    serve = ["-m", "reconciler", "emulator", "serve", "--port", "0", "--db", str(db)]
    done = subprocess.run(
        [*prefix, sys.executable, *serve],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"hsprefs: error: the database {db} is read-only: the emulator writes every change "
        "to it (make the file and its folder writable, or give --db another file)\n"
    )


def test_a_database_in_a_missing_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --db whose folder does not exist names the file and says to check the folder."""
    db = tmp_path / "no-such-folder" / "emulator.db"
    assert run(["emulator", "serve", "--port", "0", "--db", str(db)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"hsprefs: error: cannot open or create the database {db}: unable to open database "
        "file (check that its folder exists and is writable, or give --db another file)\n"
    )


def test_a_port_in_use_leaves_a_new_database_unmade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The address is bound before the database is made: a failed start writes nothing."""
    db = tmp_path / "emulator.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run(["emulator", "serve", "--port", str(port), "--db", str(db)]) == 1
    assert capsys.readouterr().err.endswith("(choose another --port, or --port 0 for a free one)\n")
    assert list(tmp_path.iterdir()) == []


def test_a_host_that_is_no_address_names_host_not_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--host 999.1.1.1 is not an address: the hint is about --host, not --port."""
    assert run(["emulator", "serve", "--host", "999.1.1.1", "--port", "0"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    # The words in the middle are the operating system's own.
    assert re.fullmatch(
        r"hsprefs: error: cannot listen on 999\.1\.1\.1:0: '999\.1\.1\.1' is not an address "
        rf"of this machine \([^()]+\) {re.escape(HOST_HINT)}\n",
        captured.err,
    ), captured.err


def test_a_host_of_another_machine_names_host_not_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An address this machine does not have (TEST-NET-1) gets the --host hint too."""
    try:
        with socket.socket() as probe:
            probe.bind(("192.0.2.1", 0))
    except OSError:
        pass
    else:
        pytest.skip("this machine has 192.0.2.1")
    assert run(["emulator", "serve", "--host", "192.0.2.1", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "hsprefs: error: cannot listen on 192.0.2.1:0: '192.0.2.1' is not an address of this "
        "machine ("
    )
    assert err.endswith(f") {HOST_HINT}\n")


@pytest.mark.parametrize("value", ["never", "-1", "nan", "inf", ""])
def test_a_bad_retry_after_names_the_option_and_its_forms(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--retry-after never: the line names --retry-after and the forms it accepts."""
    assert run(["emulator", "serve", "--port", "0", "--retry-after", value]) == 1
    assert capsys.readouterr().err == (
        f"hsprefs: error: Invalid value for '--retry-after': {value!r} is not one of auto "
        "(computed), off (no Retry-After header) or a number of seconds such as 2 or 0.5 "
        "(see 'hsprefs emulator serve --help')\n"
    )


@pytest.mark.parametrize(
    ("value", "setting"), [("auto", "auto"), ("off", None), ("2", 2), ("0.5", 0.5), ("0", 0)]
)
def test_retry_after_forms_reach_the_emulator(
    value: str, setting: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """auto, off and seconds reach the emulator's settings as auto, None and a number."""
    import reconciler.emulator.server

    seen: list[Any] = []

    def fake_serve(settings: Any, **_kwargs: Any) -> None:
        seen.append(settings.retry_after)

    monkeypatch.setattr(reconciler.emulator.server, "serve", fake_serve)
    assert run(["emulator", "serve", "--port", "0", "--retry-after", value]) == 0
    assert seen == [setting]
    assert type(seen[0]) is type(setting)


def test_a_bracketed_ipv6_host_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """--host [::1] (as a URL writes it) binds ::1."""
    import reconciler.emulator.server

    hosts: list[str] = []

    def fake_serve(_settings: Any, *, host: str, **_kwargs: Any) -> None:
        hosts.append(host)

    monkeypatch.setattr(reconciler.emulator.server, "serve", fake_serve)
    assert run(["emulator", "serve", "--host", "[::1]", "--port", "0"]) == 0
    assert hosts == ["::1"]
