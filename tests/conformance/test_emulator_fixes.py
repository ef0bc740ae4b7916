"""Pins for the emulator's conformance fixes, checked without HubSpot's files.

Each test here names a place where a spec-driven check found the emulator off-spec;
docs/emulator.md ("Conformance") lists them.
"""

from __future__ import annotations

import pytest

from .harness import Bench


@pytest.mark.parametrize(
    ("version", "path", "expected"),
    [
        ("2026-03", "/statuses/batch/read", 207),
        ("v4", "/statuses/batch/read", 207),
        ("2026-09", "/statuses/batch/read", 200),
        ("2026-03", "/statuses/batch/unsubscribe-all/read", 207),
        ("v4", "/statuses/batch/unsubscribe-all/read", 207),
        ("2026-09", "/statuses/batch/unsubscribe-all/read", 200),
    ],
)
def test_partial_batch_read_status_follows_the_versions_spec(
    bench: Bench, version: str, path: str, expected: int
) -> None:
    """A partly failed batch read is a 207 where the spec declares one, else a 200."""
    answer = bench.api(version).post(
        path, params={"channel": "EMAIL"}, json={"inputs": ["alice@example.com", "nope"]}
    )
    assert answer.status_code == expected
    assert answer.json()["numErrors"] == 1
