"""Shared by the benchmarks: run `hsprefs emulator serve` as a subprocess on loopback."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_emulator(*flags: str) -> tuple[subprocess.Popen[str], str, str]:
    """Start the emulator with ``flags`` on a free port; return the process, URL and token.

    Waits (30 s at most) for the two contract lines it prints once the port is bound.
    """
    command = [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0", *flags]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
    )
    lines: queue.Queue[str] = queue.Queue()

    def read_contract_lines() -> None:
        assert proc.stdout is not None
        for _ in range(2):
            lines.put(proc.stdout.readline().strip())

    threading.Thread(target=read_contract_lines, daemon=True).start()
    try:
        values = dict(lines.get(timeout=30).split("=", 1) for _ in range(2))
    except (queue.Empty, ValueError):
        proc.kill()
        raise SystemExit("bench: the emulator stopped before it printed its address") from None
    return proc, values["HSPREFS_API_URL"], values["HUBSPOT_ACCESS_TOKEN"]
