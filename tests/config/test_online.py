"""Binding aliases to HubSpot's definitions: check_definitions and resolve_aliases."""

from __future__ import annotations

import pytest

from reconciler.config import check_definitions, resolve_aliases
from reconciler.errors import ConfigError
from reconciler.model import (
    Definition,
    DesiredState,
    DesiredStatus,
    Location,
    PairKey,
    Status,
    SubscriptionRef,
)

DEFS = [
    Definition("101", "Newsletter", 0),
    Definition("102", "Product Updates", 0),
    Definition("201", "Product Updates", 5),
]


def _state(*refs: SubscriptionRef) -> DesiredState:
    statuses = {}
    for ref in refs:
        key = PairKey(ref.brand, "a@example.com", ref.id or ref.alias)
        statuses[key] = DesiredStatus(key, Status.SUBSCRIBED, alias=ref.alias)
    return DesiredState(
        statuses=statuses,
        subscriptions={ref.alias: ref for ref in refs},
        unresolved=frozenset(ref.alias for ref in refs if ref.id is None),
    )


def _ref(alias: str, line: int, **kw: object) -> SubscriptionRef:
    return SubscriptionRef(alias, location=Location("hsprefs.yaml", line, 3), **kw)  # type: ignore[arg-type]


def test_names_bind_within_their_brand() -> None:
    """A name resolves to the one definition of that name in the alias's brand."""
    state = _state(
        _ref("product", 3, name="Product Updates"),
        _ref("outdoor", 4, name="Product Updates", brand=5),
    )
    assert check_definitions(state, DEFS) == []
    bound = resolve_aliases(state, DEFS)
    assert sorted(bound.statuses) == [
        PairKey(0, "a@example.com", "102"),
        PairKey(5, "a@example.com", "201"),
    ]
    assert bound.unresolved == frozenset()
    assert bound.subscriptions["product"].id == "102"


def test_resolve_leaves_id_aliases_alone() -> None:
    """Aliases with ids are checked but not changed."""
    state = _state(_ref("newsletter", 3, id="101"))
    assert resolve_aliases(state, DEFS) == state


def test_resolve_raises_with_every_problem() -> None:
    """resolve_aliases raises ConfigError with each alias that does not bind."""
    state = _state(_ref("gone", 3, id="999"), _ref("nameless", 4, name="Nope"))
    with pytest.raises(ConfigError) as caught:
        resolve_aliases(state, DEFS)
    assert [str(f) for f in caught.value.findings] == [
        "hsprefs.yaml:3:3: error: the alias 'gone' names subscription id 999, which is not a "
        "subscription definition of this portal; check it with 'hsprefs definitions'",
        "hsprefs.yaml:4:3: error: the alias 'nameless': no subscription definition is named "
        "'Nope'; check the names with 'hsprefs definitions'",
    ]


def test_resolve_ignores_warnings() -> None:
    """An inactive definition is a warning: resolving still succeeds."""
    defs = [Definition("101", "Newsletter", 0, is_active=False)]
    state = _state(_ref("newsletter", 3, name="Newsletter"))
    assert [f.severity for f in check_definitions(state, defs)] == ["warning"]
    assert PairKey(0, "a@example.com", "101") in resolve_aliases(state, defs).statuses


def test_two_aliases_on_one_definition() -> None:
    """An id alias and a name alias that land on one definition would collide: an error."""
    state = _state(_ref("a", 3, id="101"), _ref("b", 4, name="Newsletter"))
    assert [str(f) for f in check_definitions(state, DEFS)] == [
        "hsprefs.yaml:4:3: error: the aliases 'a' and 'b' both refer to definition 101 "
        "('Newsletter'); keep one alias per subscription"
    ]


def test_wrong_brand_for_an_id() -> None:
    """An id whose definition belongs to another brand than the alias says is an error."""
    state = _state(_ref("outdoor", 3, id="201"))
    assert [str(f) for f in check_definitions(state, DEFS)] == [
        "hsprefs.yaml:3:3: error: the alias 'outdoor' is for business unit 0, but definition "
        "201 ('Product Updates') belongs to business unit 5; set business_unit: 5"
    ]


def test_unbounded_names_are_truncated() -> None:
    """A huge name in a finding is cut short."""
    state = _state(_ref("x", 3, name="N" * 5000))
    (finding,) = check_definitions(state, DEFS)
    assert len(finding.message) < 300
    assert "NNN…'" in finding.message
