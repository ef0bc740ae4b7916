"""Shared by the benchmarks: run `hsprefs emulator serve` as a subprocess on loopback."""

from __future__ import annotations

import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_emulator(*flags: str) -> tuple[subprocess.Popen[str], str, str]:
    """Start the emulator with ``flags`` on a free port; return the process, URL and token.

    Waits (15 minutes at most: a 1,000,000-subscriber seed takes minutes to load on a
    busy machine) for the two contract lines it prints once the port is bound. What it says on
    stderr goes to a temporary file, quoted if it stops first.
    """
    command = [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0", *flags]
    errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=ROOT)
    lines: queue.Queue[str] = queue.Queue()

    def read_contract_lines() -> None:
        assert proc.stdout is not None
        for _ in range(2):
            lines.put(proc.stdout.readline().strip())

    threading.Thread(target=read_contract_lines, daemon=True).start()
    try:
        values = dict(lines.get(timeout=900).split("=", 1) for _ in range(2))
    except (queue.Empty, ValueError):
        proc.kill()
        proc.wait()
        errors.seek(0)
        said = errors.read().strip().splitlines()[-1:] or ["(nothing on stderr)"]
        raise SystemExit(
            f"bench: the emulator stopped before it printed its address: {said[0]}"
        ) from None
    return proc, values["HSPREFS_API_URL"], values["HUBSPOT_ACCESS_TOKEN"]
