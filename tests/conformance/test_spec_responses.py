"""Every answer the emulator gives validates against HubSpot's OpenAPI files.

Each scenario of :mod:`.scenarios` runs as its own test; the ``bench`` fixture judges
every recorded answer against its operation's response schema when the test ends. The
tour test runs them all on one bench and proves that, between them, they reach every
operation of every spec version with a success and every error path the emulator has.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from .harness import Bench
from .openapi import SPEC_VERSIONS, Spec
from .scenarios import SCENARIOS

pytestmark = pytest.mark.spec

# Every status the emulator answers with somewhere, each reached by some scenario.
_ERROR_STATUSES = {400, 401, 403, 404, 405, 429, 500, 503}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_answers_conform(name: str, bench: Bench, specs: Mapping[str, Spec]) -> None:
    """The scenario behaves as HubSpot does, and every answer in it is on-spec."""
    SCENARIOS[name](bench)
    assert bench.exchanges, "the scenario sent no request"


@pytest.fixture(scope="module")
def tour(specs: Mapping[str, Spec]) -> Bench:
    """One bench that ran every scenario."""
    bench = Bench()
    try:
        for run in SCENARIOS.values():
            run(bench)
    finally:
        bench.close()
    return bench


def test_tour_has_no_off_spec_answer(tour: Bench, specs: Mapping[str, Spec]) -> None:
    """Across all scenarios no answer is off-spec."""
    assert tour.problems(specs) == []


@pytest.mark.parametrize("version", SPEC_VERSIONS)
def test_tour_reaches_every_operation(tour: Bench, specs: Mapping[str, Spec], version: str) -> None:
    """Every operation of the version's spec answered a success at least once."""
    reached = {
        v.operation.rsplit(" ", 1)[0]
        for v in tour.verdicts(specs)
        if v.kind == "operation" and v.operation and v.exchange.status < 300
    }
    declared = {op.label for op in specs[version].operations}
    assert sorted(declared - reached) == []


def test_tour_reaches_every_error_path(tour: Bench, specs: Mapping[str, Spec]) -> None:
    """Every error status and the partial-success 207 were answered and judged."""
    judged = {v.exchange.status for v in tour.verdicts(specs) if v.kind != "admin"}
    assert sorted((_ERROR_STATUSES | {207}) - judged) == []


def test_tour_judges_gateway_pages_apart(tour: Bench, specs: Mapping[str, Spec]) -> None:
    """Only the injected HTML 502/504 pages are set aside as gateway answers."""
    gateway = [v.exchange.status for v in tour.verdicts(specs) if v.kind == "gateway"]
    assert sorted(gateway) == [502, 504]


def test_tour_judges_errors_without_operation_by_their_shape(
    tour: Bench, specs: Mapping[str, Spec]
) -> None:
    """404, 405 and account-info errors are judged against the spec's Error shape."""
    shaped = {v.exchange.status for v in tour.verdicts(specs) if v.kind == "error-shape"}
    assert shaped == {401, 404, 405}
