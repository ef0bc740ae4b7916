"""The REST calls of the sticky pull-request comment, with the standard library.

Three endpoints: list a pull request's comments (``GET /repos/{repo}/issues/{n}/comments``,
every page), create one (``POST`` there) and update one
(``PATCH /repos/{repo}/issues/comments/{id}``). The comment is found again by the hidden
marker on its first line, so each run updates it instead of adding another.

The token goes only in the ``Authorization`` header, only over HTTPS (or plain HTTP to
a loopback address, for the tests' stand-in), and never into a message.
"""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hsprefs_action.ghenv import ActionError

__all__ = ["Comment", "GitHub", "upsert_comment"]

_TIMEOUT = 30
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


@dataclass(frozen=True)
class Comment:
    id: int
    url: str
    created: bool


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GitHub:
    """A small client for GitHub's REST API at ``api_url``."""

    def __init__(self, api_url: str, token: str) -> None:
        parts = urlsplit(api_url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and _loopback(parts.hostname or "")
        ):
            raise ActionError(
                f"refusing to send the GitHub token to {api_url}: HTTPS is required "
                "(plain HTTP only to a loopback address)"
            )
        if not token:
            raise ActionError(
                "no GitHub token for the comment: set the github-token input "
                "(its default is the job's GITHUB_TOKEN)"
            )
        self._base = api_url.rstrip("/")
        self._token = token

    def request(self, method: str, path: str, body: Any = None) -> tuple[Any, dict[str, str]]:
        """Send one request; return the decoded JSON answer and the headers."""
        url = path if path.startswith(("http://", "https://")) else self._base + path
        if not url.startswith(self._base + "/"):
            raise ActionError(f"refusing to follow a link off the GitHub API: {url}")
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (checked)
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("X-GitHub-Api-Version", "2022-11-28")
        request.add_header("User-Agent", "hsprefs-action")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        where = f"{method} {urlsplit(url).path}"
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as answer:  # noqa: S310
                raw = answer.read()
                headers = {k.lower(): v for k, v in answer.headers.items()}
        except urllib.error.HTTPError as exc:
            raise ActionError(f"GitHub API {where} answered {exc.code}: {_message(exc)}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ActionError(f"GitHub API {where} failed: {reason}") from None
        try:
            return (json.loads(raw) if raw else None), headers
        except ValueError:
            raise ActionError(f"GitHub API {where} answered something that is not JSON") from None

    def pages(self, path: str) -> list[Any]:
        """Every item of a paginated list, following the ``Link: rel="next"`` headers."""
        items: list[Any] = []
        url: str | None = path + ("&" if "?" in path else "?") + "per_page=100"
        while url:
            page, headers = self.request("GET", url)
            if not isinstance(page, list):
                raise ActionError(f"GitHub API GET {path} did not answer a list")
            items.extend(page)
            found = _NEXT.search(headers.get("link", ""))
            url = found.group(1) if found else None
        return items


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"null")
    except ValueError:
        body = None
    text = body.get("message") if isinstance(body, dict) else None
    text = " ".join(str(text or exc.reason or "no message").split())[:300]
    if exc.code in (401, 403, 404):
        text += (
            " (the job needs 'permissions: pull-requests: write', and a pull request from "
            "a fork gets a read-only token)"
        )
    return text


def upsert_comment(github: GitHub, repository: str, number: int, body: str, mark: str) -> Comment:
    """Update the pull request's comment that starts with ``mark``, or create it."""
    comments = github.pages(f"/repos/{repository}/issues/{number}/comments")
    for comment in comments:
        text = comment.get("body") or ""
        if isinstance(text, str) and text.startswith(mark):
            answer, _ = github.request(
                "PATCH", f"/repos/{repository}/issues/comments/{comment['id']}", {"body": body}
            )
            return Comment(int(comment["id"]), str(answer.get("html_url", "")), created=False)
    answer, _ = github.request(
        "POST", f"/repos/{repository}/issues/{number}/comments", {"body": body}
    )
    return Comment(int(answer["id"]), str(answer.get("html_url", "")), created=True)
