"""`hsprefs definitions` with answers the emulator never gives, and names of any kind.

A ``/definitions`` body that is not HubSpot's shape is an error naming the call and
what was wrong, never "No subscription types found."; whatever the names, the text
output has one row and one alias line per definition, and the alias lines are YAML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reconciler.cli import run
from reconciler.client import RetryPolicy
from reconciler.model import Definition
from reconciler.render.definitions import render_definitions_text

CALL = "GET /communication-preferences/2026-03/definitions"


def _definitions(capsys: pytest.CaptureFixture[str], body: Any) -> tuple[int, str, str]:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json=body, headers={"X-HubSpot-Correlation-Id": "cid-9"})

    code = run(["definitions"], transport=httpx.MockTransport(answer), retry=RetryPolicy.instant())
    captured = capsys.readouterr()
    assert seen == ["/communication-preferences/2026-03/definitions"]
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ({}, "it has no 'results' list of subscription definitions"),
        ({"results": None}, "it has no 'results' list of subscription definitions"),
        ({"results": "nope"}, "its 'results' is a string, not a list"),
        ({"results": {"id": "1"}}, "its 'results' is an object, not a list"),
        ({"subscriptionDefinitions": 7}, "its 'subscriptionDefinitions' is a number, not a list"),
        ({"results": ["nope"]}, "item 1 of 'results' is a string, not an object"),
        (
            {"results": [{"id": "1", "name": "A"}, None]},
            "item 2 of 'results' is null, not an object",
        ),
        ({"results": [{"name": "A"}]}, "item 1 of 'results' has no id"),
    ],
    ids=[
        "empty-object",
        "null-results",
        "results-a-string",
        "results-an-object",
        "v3-list-a-number",
        "item-a-string",
        "item-null",
        "item-without-id",
    ],
)
def test_a_body_of_another_shape_is_an_error(
    env: Path, capsys: pytest.CaptureFixture[str], body: Any, what: str
) -> None:
    """One line naming the call and what was wrong, exit 1, nothing on stdout."""
    code, out, err = _definitions(capsys, body)
    assert (code, out) == (1, "")
    assert err == f"hsprefs: error: {CALL}: unexpected answer: {what} [correlationId cid-9]\n"


def test_an_empty_list_is_no_subscription_types(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """HubSpot's own empty answer ({"results": []}) still lists nothing, exit 0."""
    assert _definitions(capsys, {"results": []}) == (0, "No subscription types found.\n", "")


def test_the_v3_shape_is_read(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The legacy v3 body (subscriptionDefinitions) is a list of definitions too."""
    body = {"subscriptionDefinitions": [{"id": "5", "name": "News", "isActive": True}]}
    code, out, err = _definitions(capsys, body)
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [
        "ID  NAME  BRAND  ACTIVE  PURPOSE",
        "5   News  0      yes     -",
    ]


@given(
    st.lists(
        st.tuples(st.integers(min_value=1, max_value=10**12), st.text(min_size=1, max_size=30)),
        min_size=1,
        max_size=8,
        unique_by=lambda t: t[0],
    )
)
def test_any_names_give_one_line_each_and_yaml_aliases(items: list[tuple[int, str]]) -> None:
    """Whatever the names: a header, one row per definition, and alias lines YAML reads."""
    definitions = [Definition(str(i), name, purpose=name) for i, name in items]
    lines = render_definitions_text(definitions).split("\n")
    n = len(definitions)
    assert len(lines) == 1 + n + 2 + n + 1  # table, blank + title, aliases, final newline
    pasted = "\n".join(lines[n + 3 : -1])
    aliases = yaml.safe_load("subscriptions:\n" + pasted)["subscriptions"]
    assert sorted(json.dumps(v) for v in aliases.values()) == sorted(
        json.dumps({"id": str(i)}) for i, _ in items
    )
