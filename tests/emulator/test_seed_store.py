"""Seeds, settings and the SQLite store: formats, errors, persistence, concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from reconciler.emulator import DEMO_SEED, EmulatorSettings, create_app, load_seed
from reconciler.emulator._seedcheck import parse_seed
from reconciler.emulator.clock import Clock
from reconciler.emulator.knobs import parse_faults
from reconciler.emulator.portal import Portal
from reconciler.emulator.store import Store
from reconciler.errors import ConfigError, UsageError

from .helpers import EXAMPLE_SEED


def _findings(tmp_path: Path, text: str, name: str = "seed.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_seed(path)
    return [str(f) for f in caught.value.findings]


def test_example_seed_is_the_demo_portal_with_statuses() -> None:
    """examples/emulator-seed.yaml has the built-in demo's portal, brands, definitions, token."""
    example = load_seed(EXAMPLE_SEED)
    demo = load_seed(None)
    assert (example.portal_id, example.gdpr, example.created_at) == (
        demo.portal_id,
        demo.gdpr,
        demo.created_at,
    )
    assert example.brands == demo.brands
    assert example.definitions == demo.definitions
    assert example.tokens == demo.tokens
    assert demo.statuses == ()


def test_example_seed_statuses() -> None:
    """The example seed holds the live statuses the demo config is planned against."""
    seed = load_seed(EXAMPLE_SEED)
    held = {(s.email, s.subscription): s.status for s in seed.statuses}
    assert held == {
        ("alice@example.com", "102"): "SUBSCRIBED",
        ("bob@example.com", "101"): "SUBSCRIBED",
        ("carol@example.com", "101"): "SUBSCRIBED",
        ("carol@example.com", "103"): "SUBSCRIBED",
        ("erin@example.com", "101"): "UNSUBSCRIBED",
        ("frank@example.com", "101"): "UNSUBSCRIBED",
        ("grace@example.com", "102"): "SUBSCRIBED",
        ("heidi@example.com", "103"): "SUBSCRIBED",
        ("ivan@example.com", "201"): "SUBSCRIBED",
        ("ivan@example.com", "202"): "UNSUBSCRIBED",
        ("mallory@example.com", "101"): "SUBSCRIBED",
        ("judy@example.com", "201"): "UNSUBSCRIBED",
        ("judy@example.com", "202"): "UNSUBSCRIBED",
    }
    assert [(o.email, o.brand) for o in seed.opt_outs] == [("judy@example.com", 5)]
    assert all(s.legal_basis for s in seed.statuses if s.status == "SUBSCRIBED")
    frank = next(s for s in seed.statuses if s.email == "frank@example.com")
    assert (frank.timestamp, frank.source) == (
        "2026-10-02T08:30:00.000Z",
        "Self-service preference center",
    )


def test_seed_round_trips_through_its_dict() -> None:
    """A seed written with to_dict() reads back equal."""
    seed = load_seed(EXAMPLE_SEED)
    assert parse_seed(seed.to_dict()) == seed


def test_demo_seed_constant_is_a_valid_seed() -> None:
    """DEMO_SEED is the documented built-in portal."""
    seed = load_seed(DEMO_SEED)
    assert seed.portal_id == 12345678
    assert [(d.id, d.brand, d.active) for d in seed.definitions] == [
        ("101", 0, True),
        ("102", 0, True),
        ("103", 0, True),
        ("104", 0, False),
        ("201", 5, True),
        ("202", 5, True),
    ]


def test_seed_errors_name_file_line_and_column(tmp_path: Path) -> None:
    """Every problem of a YAML seed is reported at once, each at file:line:column."""
    text = """\
version: 1
portal:
  id: 7
definitions:
  - {id: "1", name: A}
statuses:
  - email: bad-address
    subscription: "1"
    status: SUBSCRIBED
  - email: ok@example.com
    subscription: "2"
    status: MAYBE
colour: blue
"""
    name = str(tmp_path / "seed.yaml")
    assert _findings(tmp_path, text) == [
        f"{name}:13:9: error: seed.colour: unknown key (allowed: version, portal, brands, "
        "definitions, tokens, statuses, opt_outs)",
        f"{name}:7:12: error: statuses[0].email: 'bad-address' is not an email address",
        f"{name}:11:19: error: statuses[1].subscription: no definition has id '2'",
        f"{name}:12:13: error: statuses[1].status: expected one of SUBSCRIBED, UNSUBSCRIBED, "
        "NOT_SPECIFIED",
    ]


def test_json_seed_errors_have_positions_too(tmp_path: Path) -> None:
    """JSON seeds are read with positions as well."""
    text = '{\n  "portal": {"id": 7},\n  "brands": [{"id": 0, "name": 3.5}]\n}\n'
    name = str(tmp_path / "seed.json")
    assert _findings(tmp_path, text, "seed.json") == [
        f"{name}:3:32: error: brands[0].name: expected text"
    ]


def test_duplicate_key_in_a_seed(tmp_path: Path) -> None:
    """A key written twice in one mapping is an error at the second one."""
    name = str(tmp_path / "seed.yaml")
    assert _findings(tmp_path, "portal:\n  id: 1\n  id: 2\n") == [
        f"{name}:3:3: error: duplicate key 'id': each key may appear once in a mapping"
    ]


def test_a_seed_token_that_cannot_be_a_bearer_token(tmp_path: Path) -> None:
    """A token with a space or a non-ASCII character is refused at its position."""
    text = 'portal: {id: 1}\ntokens:\n  - {token: "two words"}\n  - {token: "caf\u00e9"}\n'
    name = str(tmp_path / "seed.yaml")
    why = "a token is one word of visible ASCII characters (no spaces)"
    assert _findings(tmp_path, text) == [
        f"{name}:3:13: error: tokens[0].token: {why}",
        f"{name}:4:13: error: tokens[1].token: {why}",
    ]


def test_yaml_syntax_error_in_a_seed(tmp_path: Path) -> None:
    """Broken YAML is one finding at the place it breaks."""
    [finding] = _findings(tmp_path, "portal: [1, 2\n")
    assert finding.startswith(f"{tmp_path / 'seed.yaml'}:2:1: error: invalid YAML/JSON:")


def test_opt_out_beside_a_subscribed_status_is_refused() -> None:
    """A seed cannot opt someone out of a brand while SUBSCRIBED to one of its subscriptions."""
    with pytest.raises(ConfigError) as caught:
        parse_seed(
            {
                "portal": {"id": 1},
                "definitions": [{"id": "1", "name": "A"}],
                "statuses": [
                    {"email": "x@example.com", "subscription": "1", "status": "SUBSCRIBED"}
                ],
                "opt_outs": [{"email": "x@example.com"}],
            }
        )
    assert [f.message for f in caught.value.findings] == [
        "opt_outs[0]: x@example.com cannot be opted out of brand 0 and SUBSCRIBED to 1"
    ]


def test_seed_emails_are_normalised() -> None:
    """Seed emails are trimmed and lower-cased."""
    seed = parse_seed(
        {
            "portal": {"id": 1},
            "definitions": [{"id": "1", "name": "A"}],
            "statuses": [
                {"email": " Mixed@Example.COM ", "subscription": 1, "status": "subscribed"}
            ],
        }
    )
    assert [(s.email, s.status) for s in seed.statuses] == [("mixed@example.com", "SUBSCRIBED")]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate_limit": -1}, "rate_limit must be a whole number of at least 0, got -1"),
        ({"batch_limit": 0}, "batch_limit must be at least 1, got 0"),
        ({"fault_rate": 1.5}, "fault_rate must be a number from 0 to 1, got 1.5"),
        (
            {"wide_status_style": "loud"},
            "wide_status_style must be one of empty, explicit, got 'loud'",
        ),
        ({"faults": ("500", "teapot")}, "unknown fault kind 'teapot'"),
        ({"rate_window_ms": 0}, "rate_window_ms must be at least 1"),
        (
            {"token": "two words"},
            "token must be one word of visible ASCII characters (no spaces), as a bearer "
            "token in an HTTP header is",
        ),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, object], message: str) -> None:
    """Out-of-range settings raise a UsageError that says which and why."""
    with pytest.raises(UsageError) as caught:
        EmulatorSettings(**changes)  # type: ignore[arg-type]
    assert caught.value.message == message


def test_settings_repr_hides_the_token() -> None:
    """The repr of settings never shows the token."""
    text = repr(EmulatorSettings(token="very-secret-value"))
    assert "very-secret-value" not in text
    assert "token=<redacted>" in text


def test_parse_faults() -> None:
    """--faults reads comma-separated kinds, 'all', and drops repeats."""
    assert parse_faults("500, drop,500") == ("500", "drop")
    assert parse_faults("all") == (
        "500",
        "502",
        "503",
        "504",
        "429",
        "drop",
        "slow",
        "pending",
        "lie",
    )
    assert parse_faults("") == ()


def test_state_survives_a_restart_with_the_same_file(tmp_path: Path) -> None:
    """A file database keeps its statuses; the seed is not applied again."""
    db = str(tmp_path / "state.db")
    first = create_app(EmulatorSettings(db=db, seed=EXAMPLE_SEED)).state.emulator
    assert first.seed_applied
    with first.store.transaction():
        first.portal.write("bob@example.com", 101, "UNSUBSCRIBED", None, None, source="test")
    first.close()
    second = create_app(EmulatorSettings(db=db, seed=DEMO_SEED)).state.emulator
    try:
        assert not second.seed_applied
        rows = second.portal.read(["bob@example.com", "alice@example.com"], 0)
        assert {r.subscription_id: r.status for r in rows["bob@example.com"]}[
            "101"
        ] == "UNSUBSCRIBED"
        assert {r.subscription_id: r.status for r in rows["alice@example.com"]}[
            "102"
        ] == "SUBSCRIBED"
    finally:
        second.close()


def test_reset_after_restart_returns_to_the_original_seed(tmp_path: Path) -> None:
    """The seed a database was built from is stored with it, so reset works after restart."""
    db = str(tmp_path / "state.db")
    create_app(EmulatorSettings(db=db, seed=EXAMPLE_SEED)).state.emulator.close()
    again = create_app(EmulatorSettings(db=db)).state.emulator
    try:
        with again.store.transaction():
            again.portal.unsubscribe_all("alice@example.com", 0, source="test")
        again.reset()
        rows = again.portal.read(["alice@example.com"], 0)["alice@example.com"]
        assert {r.subscription_id: r.status for r in rows}["102"] == "SUBSCRIBED"
    finally:
        again.close()


def test_an_invalid_seed_is_refused_even_for_a_used_database(tmp_path: Path) -> None:
    """A bad seed file is reported although the database would not need it."""
    db = str(tmp_path / "state.db")
    create_app(EmulatorSettings(db=db)).state.emulator.close()
    bad = tmp_path / "bad.yaml"
    bad.write_text("portal: {id: -1}\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        create_app(EmulatorSettings(db=db, seed=bad))


def test_failed_transaction_leaves_nothing_behind() -> None:
    """An error inside a transaction rolls every write of it back."""
    store = Store()
    store.load(load_seed(None))
    portal = Portal(store, Clock())

    def failing_unit() -> None:
        with store.transaction():
            portal.write("a@example.com", 102, "UNSUBSCRIBED", None, None, source="test")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_unit()
    assert store.statuses(["a@example.com"]) == {}
    store.close()


def test_concurrent_writers_never_corrupt_the_store(tmp_path: Path) -> None:
    """Threads writing at once through one store leave every write in place."""
    store = Store(str(tmp_path / "busy.db"))
    store.load(load_seed(None))
    portal = Portal(store, Clock())
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for n in range(40):
                with store.transaction():
                    portal.write(
                        f"w{worker}-{n}@example.com", 102, "UNSUBSCRIBED", None, None, source="t"
                    )
                    portal.unsubscribe_all(f"w{worker}-{n}@example.com", 5, source="t")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses, wide = store.dump()
    store.close()
    assert errors == []
    assert len(statuses) == 6 * 40 * 3  # 102, plus 201 and 202 flipped by the opt-out
    assert len(wide) == 6 * 40
