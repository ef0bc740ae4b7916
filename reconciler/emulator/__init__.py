"""A local stand-in for HubSpot's communication-preferences API (docs/architecture.md#the-emulator).

The emulator is its own room: the reconciler core never imports it; the CLI imports it
lazily for ``hsprefs emulator serve``; tests and benchmarks use it directly. It may
import the standard library, Starlette, uvicorn, httpx, PyYAML and
:mod:`reconciler.errors`, nothing else of the package. docs/emulator.md describes what
it emulates and where it follows one reading of HubSpot's docs.

Python API (stable; tests of the client, plan and apply are written against it)::

    from reconciler.emulator import EmulatorSettings, create_app, serve_in_thread

    app = create_app(EmulatorSettings(rate_limit=0))          # a Starlette app
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        ...
    app.state.emulator.close()                                  # in-process: close the DB

    with serve_in_thread(EmulatorSettings(seed="examples/emulator-seed.yaml")) as url:
        ...                                                     # "http://127.0.0.1:PORT"

- :class:`EmulatorSettings` (frozen, keyword-only; fields mirror the ``serve`` flags):
  ``db=":memory:"``, ``seed=None`` (path, mapping, or None for the built-in demo
  portal), ``token=None``, ``rate_limit=190`` (0 off), ``rate_window_ms=10000``,
  ``daily_limit=625000`` (0 off), ``batch_limit=100``, ``latency_ms=0``,
  ``latency_jitter_ms=None`` (a fifth of the latency), ``fault_rate=0.0``,
  ``faults=()`` (every kind of :data:`FAULT_KINDS`), ``fault_seed=None``,
  ``slow_ms=60000``, ``retry_after="auto"`` (or seconds, or None for no header),
  ``wide_status_style="empty"`` (or ``"explicit"``), ``error_context=True``.
- :func:`create_app` ``(settings=None) -> starlette.applications.Starlette``; the
  running :class:`~reconciler.emulator.instance.Emulator` is ``app.state.emulator`` (its
  ``token``, ``settings``, ``reset()``, ``load(seed)``, ``update_settings(dict)``,
  ``close()``; ``sleep`` and the ``limiter``'s ``monotonic``/``utcnow`` clocks may be
  replaced by tests, so no test waits for time to pass).
- :func:`serve_in_thread` ``(settings=None, *, app=None)``: a context manager serving on
  127.0.0.1 at a free port, yielding the base URL.
- :data:`DEFAULT_TOKEN` (``hsprefs-emulator-token``), :data:`OPERATION_NAMES`,
  :data:`FAULT_KINDS`, :data:`DEMO_SEED`, :func:`load_seed`.

Operation names (request counts and the write log use them): ``definitions``,
``statuses.read``, ``statuses.write``, ``statuses.unsubscribe_all_read``,
``statuses.unsubscribe_all``, ``statuses.batch.read``, ``statuses.batch.write``,
``statuses.batch.unsubscribe_all``, ``statuses.batch.unsubscribe_all_read``,
``links.generate``, ``v3.definitions``, ``v3.status``, ``v3.subscribe``,
``v3.unsubscribe``, ``v3.resubscribe``, ``account_info``, ``account_info.api_usage``,
``oauth.access_token_info`` (a private app token's scopes), and ``unknown`` for paths
that match no operation.

Admin surface (no auth, not counted, never limited or faulted):
``GET /_emulator/info``; ``POST /_emulator/reset``; ``POST /_emulator/load`` (a seed
document); ``GET /_emulator/state`` (a seed document plus ``wide_statuses``);
``GET|DELETE /_emulator/requests`` -> ``{total, by_operation, by_status, by_version,
by_operation_status}``; ``GET|DELETE /_emulator/writes`` -> ``{writes: [{seq, at,
operation, version, brand, input, outcome, detail, call, status, applied, fault}]}``
(every write input received, refused calls included); ``GET|PATCH
/_emulator/settings``; ``GET|POST|DELETE /_emulator/faults`` (queue ``{kind,
operation, count}``).
"""

from __future__ import annotations

from reconciler.emulator._seedcheck import load_seed
from reconciler.emulator.app import DroppedConnection, create_app
from reconciler.emulator.instance import Emulator
from reconciler.emulator.knobs import DEFAULT_TOKEN, FAULT_KINDS, EmulatorSettings
from reconciler.emulator.operations import OPERATIONS, UNKNOWN_OPERATION
from reconciler.emulator.seed import DEMO_SEED, Seed
from reconciler.emulator.server import serve_in_thread

OPERATION_NAMES: tuple[str, ...] = (*OPERATIONS, UNKNOWN_OPERATION)

__all__ = [
    "DEFAULT_TOKEN",
    "DEMO_SEED",
    "FAULT_KINDS",
    "OPERATION_NAMES",
    "DroppedConnection",
    "Emulator",
    "EmulatorSettings",
    "Seed",
    "create_app",
    "load_seed",
    "serve_in_thread",
]
