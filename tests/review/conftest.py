"""Review tests run against the same emulator fixtures as tests/flow."""

from tests.flow.conftest import hub, project

__all__ = ["hub", "project"]
