"""Scenarios that make the emulator give every kind of answer it has, under every version.

Each scenario is a plain function of a :class:`~.harness.Bench` that drives recorded
emulators and asserts what HubSpot would answer. ``test_spec_responses`` runs each one
as its own test (the bench judges every answer against the specs at teardown) and runs
them all together to prove that, between them, they reach every operation of every spec
and every error path. :data:`SCENARIOS` maps an id (``name[version]``) to a callable;
importing this module registers every scenario of ``scenarios_api`` and
``scenarios_edges``.
"""

from __future__ import annotations

from . import scenarios_api, scenarios_edges
from ._registry import SCENARIOS, V4_STYLE

__all__ = ["SCENARIOS", "V4_STYLE"]

# Imported for their registrations.
_MODULES = (scenarios_api, scenarios_edges)
