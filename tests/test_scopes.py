"""reconciler.scopes: what a token's scopes (from HubSpot's token info) let hsprefs do."""

from __future__ import annotations

import pytest

from reconciler.scopes import rights_of

BATCH = (
    "communication_preferences.statuses.batch.read",
    "communication_preferences.statuses.batch.write",
)


@pytest.mark.parametrize(
    ("scopes", "abilities"),
    [
        ((*BATCH, "communication_preferences.read_write"),
         "the token lets hsprefs plan, audit and apply in batch and single mode"),
        (("communication_preferences.read",),
         "the token lets hsprefs plan and audit in single mode, but not apply"),
        ((BATCH[0], "communication_preferences.read", "communication_preferences.write"),
         "the token lets hsprefs plan and audit in batch and single mode, and apply in "
         "single mode"),
        (("subscriptions-status-read", "subscriptions-status-write"),
         "the token lets hsprefs plan, audit and apply in single mode"),
        (("crm.objects.contacts.read",), "the token lets hsprefs neither plan nor apply"),
    ],
)  # fmt: skip
def test_abilities(scopes: tuple[str, ...], abilities: str) -> None:
    """Each mix of scopes, in both of HubSpot's namings, says what hsprefs may do."""
    assert rights_of(scopes).abilities() == abilities


def test_listed_names_each_right_per_mode() -> None:
    """The scopes held, per mode and right; none where there is none."""
    rights = rights_of(("communication_preferences.read_write", BATCH[0], "oauth"))
    assert rights.listed() == (
        "batch read: communication_preferences.statuses.batch.read; batch write: none; "
        "single read: communication_preferences.read_write; single write: "
        "communication_preferences.read_write"
    )
    assert rights.needed("write", "batch") == BATCH[1]
