"""Fixtures of the conformance suite: HubSpot's specs, and benches judged at teardown.

``specs`` loads the spec files from beside the checkout and skips, saying where it
looked, when they are absent (as on GitHub's runners). ``bench`` hands out recorded
emulators; when the test ends, every answer they gave is judged against the specs and
any off-spec answer fails the test (when the specs are absent only the test's own
assertions run).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from .harness import Bench
from .openapi import SPEC_VERSIONS, Spec, load_spec, specs_dir


def _load_specs() -> dict[str, Spec] | None:
    if not all((specs_dir() / v / "subscriptions.json").is_file() for v in SPEC_VERSIONS):
        return None
    return {version: load_spec(version) for version in SPEC_VERSIONS}


def missing_specs_reason() -> str:
    """Why spec-based tests skip."""
    return (
        f"HubSpot's OpenAPI specs are not at {specs_dir()} (expected "
        f"<version>/subscriptions.json for {', '.join(SPEC_VERSIONS)}); they sit beside the "
        "checkout in .ci/run, or set HSPREFS_SPECS"
    )


@pytest.fixture(scope="session")
def maybe_specs() -> dict[str, Spec] | None:
    """The specs by version, or None when they are not beside the checkout."""
    return _load_specs()


@pytest.fixture(scope="session")
def specs(maybe_specs: dict[str, Spec] | None) -> Mapping[str, Spec]:
    """The specs by version; skips the test when they are absent."""
    if maybe_specs is None:
        pytest.skip(missing_specs_reason())
    return maybe_specs


@pytest.fixture
def bench(maybe_specs: dict[str, Spec] | None) -> Iterator[Bench]:
    """Recorded emulators; every answer they give is judged when the test ends."""
    made = Bench()
    try:
        yield made
    finally:
        made.close()
    if maybe_specs is not None:
        problems = made.problems(maybe_specs)
        if problems:
            pytest.fail(
                f"{len(problems)} answer(s) off HubSpot's spec:\n" + "\n".join(problems),
                pytrace=False,
            )
