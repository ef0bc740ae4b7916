"""The orchestrator: config + HubSpot -> plan (and, in :mod:`reconciler.apply`, -> writes).

This is the one place that strings the rooms together; the CLI calls it and renders what
it returns. It talks to HubSpot only through a :class:`reconciler.client.HubSpotClient`
handed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.diff import diff
from reconciler.errors import PortalMismatchError
from reconciler.model import DesiredState, LiveState
from reconciler.plan import Plan, Target

if TYPE_CHECKING:
    from reconciler.client import HubSpotClient

__all__ = ["Snapshot", "build_plan", "check_portal", "prepare_desired", "read_state"]


async def check_portal(desired: DesiredState, client: HubSpotClient) -> int:
    """Read the token's portal id and refuse a token of another portal than ``portal.id``."""
    portal_id = await client.portal_id()
    expected = desired.portal.id
    if expected is not None and portal_id != expected:
        raise PortalMismatchError(
            f"the token belongs to portal {portal_id}, but the config manages portal {expected}",
            hint="use the token of the right portal, or fix portal.id in hsprefs.yaml",
        )
    return portal_id


async def prepare_desired(desired: DesiredState, client: HubSpotClient) -> DesiredState:
    """Check every alias against HubSpot's definitions and bind those given by name.

    One ``/definitions`` call. It is made even when every alias has an id: an id alias
    whose ``business_unit`` is not its definition's brand would otherwise make plan read
    the wrong brand, and miss an opt-out of all in the right one.
    """
    if not desired.subscriptions:
        return desired
    from reconciler.config import resolve_aliases

    definitions = await client.definitions()
    return resolve_aliases(desired, definitions)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The config bound to HubSpot's definitions, and what HubSpot says of it."""

    desired: DesiredState
    live: LiveState
    target: Target
    read_calls: int


async def read_state(desired: DesiredState, client: HubSpotClient) -> Snapshot:
    """Check the portal, bind aliases and read the declared subscribers (plan and audit).

    Calls made (design §5): one account-info, one ``/definitions``, and per brand
    ⌈N/batch⌉ status reads plus ⌈N/batch⌉ wide-status reads.
    """
    portal_id = await check_portal(desired, client)
    bound = await prepare_desired(desired, client)
    before = client.stats.total_requests
    live = await client.read(bound.subscribers())
    settings = client.settings
    target = Target(portal_id=portal_id, api_url=settings.api_url, api_version=settings.api_version)
    return Snapshot(bound, live, target, client.stats.total_requests - before)


async def build_plan(desired: DesiredState, client: HubSpotClient) -> Plan:
    """Read HubSpot (:func:`read_state`) and diff."""
    snap = await read_state(desired, client)
    return diff(
        snap.desired,
        snap.live,
        snap.desired.policy,
        batch_size=client.settings.batch_size,
        target=snap.target,
        read_calls=snap.read_calls,
    )
