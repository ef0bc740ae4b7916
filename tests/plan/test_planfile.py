"""Saved plans: round trip, tamper detection, redacted and malformed files refused."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.config._schema import compiled
from reconciler.diff import diff
from reconciler.errors import PlanFileError
from reconciler.plan import Plan
from reconciler.planfile import PLAN_SCHEMA, load_plan, plan_document, plan_text, save_plan
from reconciler.preflight import check_consent
from reconciler.resources import load_schema
from tests.plan.builders import S, U, desired, live, live_status, want
from tests.plan.test_render import every_kind_plan

CREATED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    """A saved plan loads back equal to the plan that was saved."""
    plan = every_kind_plan()
    path = tmp_path / "plan.json"
    save_plan(plan, path, created_at=CREATED)
    assert load_plan(path) == plan


def test_saved_plan_is_private(tmp_path: Path) -> None:
    """The plan file holds real addresses, so only its owner may read it."""
    path = tmp_path / "plan.json"
    save_plan(every_kind_plan(), path, created_at=CREATED)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_edited_plan_is_refused(tmp_path: Path) -> None:
    """Changing a change after saving breaks the checksum and the plan is refused."""
    path = tmp_path / "plan.json"
    save_plan(every_kind_plan(), path, created_at=CREATED)
    document = json.loads(path.read_text())
    document["changes"][0]["email"] = "mallory@example.com"
    path.write_text(json.dumps(document))
    with pytest.raises(PlanFileError) as caught:
        load_plan(path)
    assert caught.value.one_line() == (
        f"{path} does not match its checksum: it was edited after it was saved "
        "(create it again with 'hsprefs plan -o FILE')"
    )


def test_redacted_document_cannot_be_applied(tmp_path: Path) -> None:
    """A document printed with --redact is refused as a saved plan."""
    path = tmp_path / "plan.json"
    save_plan(every_kind_plan(), path, created_at=CREATED)
    document = json.loads(path.read_text())
    document["redacted"] = True
    path.write_text(json.dumps(document))
    with pytest.raises(PlanFileError, match="is a redacted plan and cannot be applied"):
        load_plan(path)


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    """A file that is not JSON gets file:line:column."""
    path = tmp_path / "plan.json"
    path.write_text('{\n  "format": hsprefs\n}\n')
    with pytest.raises(PlanFileError) as caught:
        load_plan(path)
    assert caught.value.one_line() == (
        f"{path}:2:13: plan file is not valid JSON (create it again with 'hsprefs plan -o FILE')"
    )


def test_wrong_shape_names_the_field(tmp_path: Path) -> None:
    """A JSON document of the wrong shape says where."""
    path = tmp_path / "plan.json"
    save_plan(every_kind_plan(), path, created_at=CREATED)
    document = json.loads(path.read_text())
    document["changes"][1]["after"] = "MAYBE"
    path.write_text(json.dumps(document))
    with pytest.raises(PlanFileError, match=r"at changes/1/after: 'MAYBE' is not one of"):
        load_plan(path)


def test_missing_file(tmp_path: Path) -> None:
    """A missing plan file is one clear error."""
    with pytest.raises(PlanFileError, match=r"cannot read plan file .*No such file or directory"):
        load_plan(tmp_path / "nope.json")


def test_plan_without_own_evidence_is_refused(tmp_path: Path) -> None:
    """A change that does not say whether its evidence was its own is not a valid plan."""
    path = tmp_path / "plan.json"
    save_plan(every_kind_plan(), path, created_at=CREATED)
    document = json.loads(path.read_text())
    del document["changes"][0]["own_evidence"]
    path.write_text(json.dumps(document))
    with pytest.raises(PlanFileError) as caught:
        load_plan(path)
    assert caught.value.one_line() == (
        f"{path} is not a valid hsprefs plan: at changes/0: 'own_evidence' is a required "
        "property (create it again with 'hsprefs plan -o FILE')"
    )


def _resubscribe_plan(*, own: bool) -> Plan:
    """A saved-and-loaded plan whose one change moves pat away from an opt-out."""
    entry = want(S, resubscribe=True, basis="CONSENT_WITH_NOTICE", explanation="form #88")
    plan = diff(desired(entry), live(live_status(U)))
    (change,) = plan.changes
    return Plan(changes=(dataclasses.replace(change, own_evidence=own),))


def test_saved_resubscribe_keeps_its_own_evidence(tmp_path: Path) -> None:
    """own_evidence survives save and load, so apply can re-check the consent rules."""
    path = tmp_path / "plan.json"
    save_plan(_resubscribe_plan(own=True), path, created_at=CREATED)
    assert json.loads(path.read_text())["changes"][0]["own_evidence"] is True
    check_consent(load_plan(path), live(live_status(U)))


def test_saved_resubscribe_on_inherited_evidence_is_refused_by_apply(tmp_path: Path) -> None:
    """A saved resubscribe whose evidence came from defaults fails apply's consent re-check."""
    path = tmp_path / "plan.json"
    save_plan(_resubscribe_plan(own=False), path, created_at=CREATED)
    with pytest.raises(PlanFileError) as caught:
        check_consent(load_plan(path), live(live_status(U)))
    assert caught.value.one_line() == (
        "the plan asks for a change the consent rules forbid: pat@example.com "
        "alias-101 (101) -> SUBSCRIBED: unsubscribed from alias-101 since "
        "2026-05-01T00:00:00Z; resubscribe: true needs its own legal_basis and "
        "legal_basis_explanation on the entry, not ones inherited from defaults "
        "(hsprefs plan never makes such a change; make a new plan from the config)"
    )


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


_PLAN_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 3), st.sampled_from([1.0, 2.5, -1.0]),
    st.sampled_from(["", "x", "subscribe", "SUBSCRIBED", "2026-01-01T00:00:00Z", "101"]),
    st.just([]), st.just({}), st.just({"x": 1}),
)  # fmt: skip


@given(data=st.data())
def test_compiled_plan_check_agrees_with_jsonschema(data: st.DataObject) -> None:
    """Loading a plan trusts the compiled acceptor's "valid" only where jsonschema agrees:
    on a saved plan changed in one place (a value replaced, a key removed or added) it
    says valid exactly when jsonschema does, except that it doubts a whole number written
    as 5.0, which then gets jsonschema's own verdict."""
    document = json.loads(plan_text(every_kind_plan(), created_at=CREATED))
    path = data.draw(st.sampled_from(_paths(document)))
    parent: Any = document
    for step in path[:-1]:
        parent = parent[step]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if not path:
        document = data.draw(_PLAN_VALUES)
    elif action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "add" and isinstance(parent[path[-1]], dict):
        parent[path[-1]][data.draw(st.sampled_from(["extra", "email", "kind"]))] = data.draw(
            _PLAN_VALUES
        )
    else:
        parent[path[-1]] = data.draw(_PLAN_VALUES)
    acceptor = compiled(PLAN_SCHEMA)
    assert acceptor is not None
    valid = jsonschema.Draft202012Validator(load_schema("plan.schema.json")).is_valid(document)
    if acceptor.check(document):
        assert valid
    elif valid:
        assert any(type(v) is float for v in _leaves(document))


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in _leaves(value)]
    return [node]


@pytest.mark.parametrize("explanation", ["web form", "formulaire signé ✓"])
def test_saved_plan_text_is_ascii_json_with_two_space_indent(explanation: str) -> None:
    """The plan file is the standard library's indented ASCII JSON of the document, byte
    for byte, whether the fast writer wrote it or (beyond ASCII) the standard one."""
    entry = want(S, resubscribe=True, basis="CONSENT_WITH_NOTICE", explanation=explanation)
    plan = diff(desired(entry), live(live_status(U)))
    text = plan_text(plan, created_at=CREATED)
    assert text == json.dumps(plan_document(plan, created_at=CREATED), indent=2) + "\n"
    assert text.isascii()
    assert json.loads(text)["changes"][0]["legal_basis_explanation"] == explanation


def _long_plan() -> Plan:
    """2,500 subscribes (three pieces of a thousand), one explanation beyond ASCII, and
    an opt-out of all."""
    wants = [
        want(S, email=f"u{n:05d}@example.com", basis="CONSENT_WITH_NOTICE",
             explanation="signé ✓" if n == 1500 else "web form")
        for n in range(2500)
    ]  # fmt: skip
    return diff(desired(*wants, opt_outs={(0, "z@example.com"): True}), live())


def test_long_plan_is_written_and_hashed_in_pieces_as_if_whole(tmp_path: Path) -> None:
    """A plan of several pieces is saved as the same bytes json.dumps(indent=2) makes of
    the whole document, and its checksum is the sha256 of the whole canonical JSON."""
    plan = _long_plan()
    assert len(plan.changes) == 2501
    path = tmp_path / "plan.json"
    save_plan(plan, path, created_at=CREATED)
    document = plan_document(plan, created_at=CREATED)
    assert path.read_text(encoding="ascii") == json.dumps(document, indent=2) + "\n"
    assert plan_text(plan, created_at=CREATED) == path.read_text(encoding="ascii")
    body = {
        "version": document["version"],
        # The checksum leaves api_mode out in batch mode (plans saved before modes existed).
        "target": {k: v for k, v in document["target"].items() if k != "api_mode"},
        "batch_size": plan.batch_size,
        "changes": [change.to_dict() for change in plan.changes],
        "blocked": [entry.to_dict() for entry in plan.blocked],
        "implied": [[k.brand, k.email, k.subscription_id] for k in plan.implied],
        "policy": document["policy"],
        "managed": plan.managed,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert plan.checksum == "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()
    assert load_plan(path) == plan


def test_the_checksum_text_is_the_standard_librarys_canonical_json() -> None:
    """The checksum's lists are hashed as json.dumps writes them canonically (sorted keys,
    no spaces, ASCII), whatever the values: escapes, text beyond ASCII, big integers."""
    from reconciler.plan import _canonical, _canonical_list

    for items in (
        [{"b": 1, "a": 'x\n\t\x00\x7f"\\', "c": None, "d": True}, {"e": False}],
        [{"alias": "zoë ✓ 𝄞", "n": -(2**63)}],
        [{"big": 2**70}],
        [[0, "a@example.com", "101"]],
    ):
        assert _canonical_list(items) == _canonical(items).encode("ascii")


def test_a_saved_plans_pieces_are_json_dumps_text_even_with_a_del() -> None:
    """orjson leaves DEL unescaped where json.dumps writes \\u007f: such a value is written
    by the standard library, so the file is the same text either way."""
    from reconciler.planfile import _indented

    for value in ({"a": "x\x7fy", "b": [1, None]}, {"a": "zoë"}, {"a": "plain", "n": 3}):
        assert _indented(value, 0) == json.dumps(value, indent=2)


def test_a_loaded_plan_shares_equal_texts_and_times(tmp_path: Path) -> None:
    """The changes of a loaded plan hold one object per distinct subscription id, legal
    basis and time, not a copy each (a million-change plan repeats a handful)."""
    basis = {"basis": "CONSENT_WITH_NOTICE", "explanation": "signed up at the fair"}
    wants = [want(S, email=f"p{i}@example.com", consented_at="2026-05-01", **basis) for i in (1, 2)]
    path = tmp_path / "plan.json"
    save_plan(diff(desired(*wants), live()), path, created_at=CREATED)
    first, second = load_plan(path).changes
    assert first.email != second.email
    assert first.subscription_id is second.subscription_id
    assert first.legal_basis is second.legal_basis
    assert first.legal_basis_explanation is second.legal_basis_explanation
    assert first.consented_at is second.consented_at is not None
