"""schemathesis, generating requests from HubSpot's 2026-03 spec, against the emulator.

schemathesis (a tool nobody on this project wrote) reads
``../shared/hubspot-openapi/2026-03/subscriptions.json``, generates valid and invalid
requests for every operation, sends them to an emulator over a real socket with the
demo token, and checks each answer: never a server error, a status code the operation
declares (or its ``default``), a declared content type, and a body that matches the
response schema. Rate limiting is off so generated traffic never meets a 429. Every
answer is also recorded and judged by the suite's own reading of the spec.

The run is bounded for CI: at most :data:`MAX_EXAMPLES` generated requests for each of
the ten operations (the spec's own examples are all null, so its examples phase adds
none), schemathesis's coverage and stateful phases off, no example database. To make
generated requests reach the success paths, known emails, subscription ids and brands
are drawn into the subscriber, subscription and brand fields part of the time.
Neither schemathesis nor hypothesis emits a warning on this run, so no
``filterwarnings`` mark is needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from reconciler.emulator import DEFAULT_TOKEN, EmulatorSettings, create_app, serve_in_thread

from .conftest import missing_specs_reason
from .harness import SEED
from .openapi import Exchange, Spec, judge, specs_dir
from .recorder import Recording

pytestmark = pytest.mark.spec

MAX_EXAMPLES = 25
VERSION = "2026-03"
KNOWN_EMAILS = ("alice@example.com", "bob@example.com", "dora@example.com", "new@example.org")
SPEC_FILE = specs_dir() / VERSION / "subscriptions.json"
if not SPEC_FILE.is_file():
    pytest.skip(missing_specs_reason(), allow_module_level=True)

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


class Served:
    """A running emulator: its URL and every answer it gave.

    Its repr is short because hypothesis prints the arguments of a failing example.
    """

    def __init__(self, url: str, exchanges: list[Exchange]) -> None:
        self.url = url
        self.exchanges = exchanges

    def __repr__(self) -> str:
        return f"Served({self.url!r}, {len(self.exchanges)} answers)"


@pytest.fixture(scope="module")
def served(specs: Mapping[str, Spec]) -> Iterator[Served]:
    """An emulator on a real socket, rate limit off, recording every answer."""
    exchanges: list[Exchange] = []
    app = Recording(create_app(EmulatorSettings(rate_limit=0, seed=SEED)), exchanges)
    with serve_in_thread(app=app) as url:
        yield Served(url, exchanges)


# schemathesis's lazy loader (``schemathesis.pytest.from_fixture``) breaks on pytest 9
# (it rewrites ``node._nodeid``, which pytest 9 no longer has), so the spec is loaded
# when the module is collected and the emulator's URL is given to each call instead.
schema = schemathesis.openapi.from_path(
    SPEC_FILE,
    config=SchemathesisConfig.from_dict(
        {
            "headers": {"Authorization": f"Bearer {DEFAULT_TOKEN}"},
            # No .schemathesis/ state in the checkout: every run starts clean.
            "cache": {"enabled": False},
            "dictionaries": {
                "emails": {"values": list(KNOWN_EMAILS)},
                "subscriptions": {"values": [101, 102, 104, 201, 202]},
                "brands": {"values": [0, 5]},
            },
            "parameters": {
                key: {"dictionary": name, "probability": 0.6}
                for key, name in (
                    ("path.subscriberIdString", "emails"),
                    ("body.inputs[*]", "emails"),
                    ("body.subscriberIdString", "emails"),
                    ("body.inputs[*].subscriberIdString", "emails"),
                    ("body.subscriptionId", "subscriptions"),
                    ("body.inputs[*].subscriptionId", "subscriptions"),
                    ("query.businessUnitId", "brands"),
                )
            },
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    ),
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_generated_requests_get_on_spec_answers(
    case: Any, served: Served, specs: Mapping[str, Spec]
) -> None:
    """No server error and no off-spec answer for any generated request.

    schemathesis checks each answer; the suite's own judge checks it too.
    """
    seen = len(served.exchanges)
    case.call_and_validate(base_url=served.url)
    fresh = [judge(e, specs) for e in served.exchanges[seen:]]
    assert fresh, "the emulator recorded no answer"
    assert [v.describe() for v in fresh if v.problems] == []
