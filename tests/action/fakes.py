"""Stand-ins for what a GitHub runner provides: the REST API and the runner's files.

:class:`FakeGitHub` serves the three comment endpoints the action uses on a loopback
port, keeps the comments, records every call, answers 401 to a wrong token and 422 to
a body over GitHub's 65,536 characters, and pages its lists like GitHub (``Link``).
:class:`FakeRunner` lays out ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY`` and
``GITHUB_EVENT_PATH`` files and runs ``action/run.py`` as the action's steps do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "action" / "run.py"
GITHUB_TOKEN = "ghs_FAKEgithubTOKENfor0tests0only"
COMMENT_MAX = 65_536


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None


@dataclass
class FakeGitHub:
    """GitHub's comment API for one repository, on a loopback port."""

    repository: str = "acme/config"
    token: str = GITHUB_TOKEN
    page_size: int = 100
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    _next_id: int = 1000

    def add_comment(self, number: int, body: str, login: str = "someone") -> dict[str, Any]:
        self._next_id += 1
        comment = {
            "id": self._next_id,
            "body": body,
            "html_url": f"https://github.com/{self.repository}/pull/{number}#issuecomment-{self._next_id}",
            "user": {"login": login},
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple:
        prefix = f"/repos/{self.repository}/issues"
        listed = re.fullmatch(rf"{re.escape(prefix)}/(\d+)/comments", path)
        edited = re.fullmatch(rf"{re.escape(prefix)}/comments/(\d+)", path)
        if listed and method == "GET":
            number = int(listed.group(1))
            per_page = min(int(query.get("per_page", ["30"])[0]), self.page_size)
            page = int(query.get("page", ["1"])[0])
            items = self.comments.get(number, [])
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(items):
                headers["Link"] = (
                    f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"'
                )
            return 200, chunk, headers
        if listed and method == "POST":
            if len(body["body"]) > COMMENT_MAX:
                return 422, {"message": "Body is too long (maximum is 65536 characters)"}, {}
            return (
                201,
                self.add_comment(int(listed.group(1)), body["body"], "github-actions[bot]"),
                {},
            )
        if edited and method == "PATCH":
            if len(body["body"]) > COMMENT_MAX:
                return 422, {"message": "Body is too long (maximum is 65536 characters)"}, {}
            for items in self.comments.values():
                for comment in items:
                    if comment["id"] == int(edited.group(1)):
                        comment["body"] = body["body"]
                        return 200, comment, {}
            return 404, {"message": "Not Found"}, {}
        return 404, {"message": "Not Found"}, {}

    def bodies(self, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get(number, [])]

    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.method != "GET"]


@contextmanager
def serve_github(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            query = parse_qs(parts.query)
            auth = self.headers.get("Authorization")
            fake.calls.append(Call(self.command, parts.path, query, body, auth))
            if auth != f"Bearer {fake.token}":
                status, answer, headers = 401, {"message": "Bad credentials"}, {}
            else:
                status, answer, headers = fake.handle(self.command, parts.path, query, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class StepRun:
    code: int
    out: str
    err: str
    outputs: dict[str, str]
    summary: str


def parse_outputs(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as GitHub reads it: ``name=value`` and heredoc blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            name, delimiter = line.split("<<", 1)
            value = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


@dataclass
class FakeRunner:
    """A runner's files for one job: workspace, temp folder, outputs, summary, event."""

    root: Path
    workspace: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.root / "temp").mkdir(exist_ok=True)

    def set_event(self, name: str, payload: dict[str, Any]) -> None:
        path = self.root / "event.json"
        path.write_text(json.dumps(payload), "utf-8")
        self.env["GITHUB_EVENT_NAME"] = name
        self.env["GITHUB_EVENT_PATH"] = str(path)

    def step(
        self, step: str, inputs: dict[str, str], extra: dict[str, str] | None = None
    ) -> StepRun:
        """Run ``action/run.py STEP`` as a step of the action, with fresh output and
        summary files, and ``inputs`` as the action's ``INPUT_*`` variables."""
        output = self.root / "output.txt"
        summary = self.root / "summary.md"
        output.write_text("", "utf-8")
        summary.write_text("", "utf-8")
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("INPUT_", "GITHUB_", "HSPREFS_", "HUBSPOT_"))
        }
        env.update(
            {
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(summary),
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_REPOSITORY": "acme/config",
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_RUN_ID": "4242",
                "GITHUB_RUN_ATTEMPT": "1",
                "GITHUB_ACTION_PATH": str(ROOT),
                "RUNNER_TEMP": str(self.root / "temp"),
                "CI": "true",
            }
        )
        env.update(self.env)
        env.update({"INPUT_" + k.upper().replace("-", "_"): v for k, v in inputs.items()})
        env.update(extra or {})
        done = subprocess.run(
            [sys.executable, str(RUN), step],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return StepRun(
            done.returncode,
            done.stdout,
            done.stderr,
            parse_outputs(output.read_text("utf-8")),
            summary.read_text("utf-8"),
        )
