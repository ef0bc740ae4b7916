"""`hsprefs emulator serve` in its own process, for the tests that talk to it over a socket.

:func:`serve_cli` starts the real command (``python -m reconciler emulator serve --port 0
--seed FILE ...``), waits for its two contract lines, yields a :class:`Served` client,
and stops the process with SIGTERM afterwards, checking that it exits 0. Each answer
the client receives is handed to the suite's judge (the process is not ours, so its
app is not recorded here). Modules start one process each (a module-scoped fixture) and
reload the seed through the admin surface before each test.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from .helpers import REPO, check_against_spec

__all__ = ["Served", "serve_cli"]


class Served:
    """A blocking client of a served emulator that sends ``token`` unless told otherwise."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self._http = httpx.Client(base_url=url)

    def call(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request with ``Authorization: Bearer`` (``token=""`` sends none); judged."""
        sent = self.token if token is None else token
        headers = dict(kwargs.pop("headers", None) or {})
        if sent:
            headers["Authorization"] = f"Bearer {sent}"
        answer = self._http.request(method, path, headers=headers, **kwargs)
        check_against_spec(answer)
        return answer

    def load(self, seed: Mapping[str, Any]) -> None:
        """Replace the served state with ``seed`` (admin surface)."""
        answer = self._http.post("/_emulator/load", json=dict(seed))
        assert answer.status_code == 200, answer.text

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call of the admin surface; its JSON answer."""
        answer = self._http.request(method, f"/_emulator/{path}", **kwargs)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def close(self) -> None:
        self._http.close()


@contextmanager
def serve_cli(seed: Mapping[str, Any], *flags: str) -> Iterator[Served]:
    """Run `hsprefs emulator serve --port 0 --seed <seed> FLAGS...` for the block."""
    with tempfile.TemporaryDirectory(prefix="hsprefs-serve-") as folder:
        seed_file = Path(folder) / "seed.json"
        seed_file.write_text(json.dumps(seed), encoding="utf-8")
        command = [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0"]
        command += ["--seed", str(seed_file), "--quiet", *flags]
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines: queue.Queue[str] = queue.Queue()

        def contract_lines() -> None:
            assert proc.stdout is not None
            for _ in range(2):
                lines.put(proc.stdout.readline())

        threading.Thread(target=contract_lines, daemon=True).start()
        try:
            url_line, token_line = lines.get(timeout=30), lines.get(timeout=30)
            assert url_line.startswith("HSPREFS_API_URL=http://127.0.0.1:"), url_line
            assert token_line.startswith("HUBSPOT_ACCESS_TOKEN="), token_line
            served = Served(url_line.strip().split("=", 1)[1], token_line.strip().split("=", 1)[1])
            try:
                yield served
            finally:
                served.close()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
