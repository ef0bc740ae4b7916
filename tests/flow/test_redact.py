"""--redact masks the addresses in everything people see, the error line included."""

from __future__ import annotations

from pathlib import Path

from tests.flow.conftest import Hub

CONTRADICTION = "    unsubscribe_all: true\n    events: subscribed\n"


def _contradict(project: Path) -> None:
    """bob is opted out of all and subscribed at once: a config error naming him."""
    path = project / "subscribers" / "customers.yaml"
    text = path.read_text()
    path.write_text(text.replace("    unsubscribe_all: true          # asked", CONTRADICTION + "#"))


def test_audit_redact_masks_addresses_in_the_error_line(hub: Hub, project: Path) -> None:
    """With --redact, an error that names a subscriber shows the mask, not the address."""
    _contradict(project)
    result = hub.hsprefs("audit", "--redact")
    assert result.code == 1
    assert result.out == ""
    assert "bob@example.com" not in result.err
    assert result.err.startswith("hsprefs: error: subscribers/customers.yaml:14:5: subscriber-")
    assert result.err.endswith(
        "@redacted is subscribed to 'events' but has unsubscribe_all: "
        "true at subscribers/customers.yaml:13:5 (business unit 0); an "
        "opt-out of all cannot go with a subscribed status: remove one\n"
    )


def test_audit_without_redact_names_the_address(hub: Hub, project: Path) -> None:
    """Without --redact the same error names the subscriber, so it can be fixed."""
    _contradict(project)
    result = hub.hsprefs("audit")
    assert result.code == 1
    assert result.err.startswith(
        "hsprefs: error: subscribers/customers.yaml:14:5: bob@example.com is subscribed"
    )


def test_plan_redact_masks_addresses_in_the_error_line(hub: Hub, project: Path) -> None:
    """With --redact, an error that names a subscriber shows the mask, not the address."""
    path = project / "subscribers" / "customers.yaml"
    contradiction = "    unsubscribe_all: true\n    events: subscribed\n#"
    path.write_text(
        path.read_text().replace("    unsubscribe_all: true          # asked", contradiction)
    )
    result = hub.hsprefs("plan", "--redact")
    assert result.code == 1
    assert "is subscribed to 'events' but has unsubscribe_all" in result.err
    assert "bob@example.com" not in result.err


def test_the_domain_is_masked_too() -> None:
    """A one-person company's domain names its owner: the mask hides it as well."""
    from reconciler.redact import Redactor

    mask = Redactor(key=b"k" * 32)
    shown = mask.text(
        "refused for jo@jo-smith-consulting.example (again: jo@jo-smith-consulting.example)"
    )
    assert "jo-smith" not in shown
    assert shown == (
        f"refused for {mask.email('jo@jo-smith-consulting.example')} (again: "
        f"{mask.email('jo@jo-smith-consulting.example')})"
    )
    assert mask.email("jo@jo-smith-consulting.example").endswith("@redacted")
