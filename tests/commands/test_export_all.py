"""`hsprefs export --business-unit all`, shared legal bases in defaults, and exports
that other files' findings do not stop."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.commands.conftest import SEED, Hub

LIST = "ann@example.com\nben@example.com\ncid@example.com\ndot@example.com\n"
BROKEN = (
    "version: 1\nsubscribers:\n  eve@example.com:\n    nosuchalias: unsubscribed\n"
    "defaults:\n  legal_basis: CONSENT_WITH_NOTICE\n  legal_basis_explanation: Signed up\n"
)


def test_all_without_a_project(hub: Hub, env: Path) -> None:
    """Without a project: one /definitions call, a file per brand with its alias lines,
    inactive definitions noted, subscribers with nothing in a brand left out."""
    (env / "list.txt").write_text(LIST, encoding="utf-8")
    hub.reset_counts()
    result = hub.hsprefs("export", "--business-unit", "all", "--subscribers", "list.txt")
    assert result.code == 0
    assert sorted(p.name for p in (env / "subscribers").iterdir()) == [
        "account.yaml",
        "brand-7.yaml",
    ]
    assert hub.counts()["definitions"] == 1
    account = (env / "subscribers" / "account.yaml").read_text("utf-8")
    assert (
        "# No hsprefs.yaml was given: add these aliases to its `subscriptions:`\n"
        '#   newsletter: {id: "11"}       # Newsletter\n'
        '#   print-catalogue: {id: "13"}  # Print Catalogue (inactive)\n'
        '#   product-updates: {id: "12"}  # Product Updates\n'
    ) in account
    assert "yaml-language-server" not in account


def test_all_needs_a_folder(hub: Hub, env: Path) -> None:
    """-o of a file with --business-unit all is refused before any call."""
    (env / "list.txt").write_text(LIST, encoding="utf-8")
    (env / "one.yaml").write_text("", encoding="utf-8")
    hub.reset_counts()
    result = hub.hsprefs(
        "export", "--business-unit", "all", "--subscribers", "list.txt", "-o", "one.yaml"
    )
    assert (result.code, result.err) == (
        1,
        "hsprefs: error: -o one.yaml is not a folder (with --business-unit all, -o names "
        "the folder of the files (one per brand))\n",
    )
    assert hub.counts() == {}


def test_a_bad_brand_value(hub: Hub, env: Path) -> None:
    """--business-unit takes a number or all; anything else is a usage error naming it."""
    result = hub.hsprefs("export", "--business-unit", "trail", "--subscribers", "-", stdin=LIST)
    assert result.code == 1
    assert result.err == (
        "hsprefs: error: Invalid value for '--business-unit': 'trail' is not a business "
        "unit id (0 or more) or 'all' (see 'hsprefs export --help')\n"
    )


def test_another_files_finding_is_a_warning(hub: Hub, project: Path) -> None:
    """Exporting brand 7 goes ahead when the brand 0 file has a finding; it is warned of."""
    (project / "subscribers" / "acme.yaml").write_text(BROKEN, encoding="utf-8")
    result = hub.hsprefs(
        "export", "--subscribers", "-", "--business-unit", "7", "-o", "subscribers/trail.yaml",
        stdin=LIST,
    )  # fmt: skip
    assert result.code == 0
    assert [line for line in result.err.splitlines() if line.startswith("warning:")] == [
        "warning: subscribers/acme.yaml:4:5: unknown subscription alias 'nosuchalias'; "
        "declare it under 'subscriptions' in hsprefs.yaml",
        "warning: 1 finding in subscribers/acme.yaml (not written by this export): the "
        "export went ahead; fix them before hsprefs plan (hsprefs validate lists them).",
    ]
    assert (project / "subscribers" / "trail.yaml").exists()


def test_the_file_being_replaced_may_have_findings(hub: Hub, project: Path) -> None:
    """A finding in the file the export replaces is no warning: the file is rewritten."""
    (project / "subscribers" / "trail.yaml").write_text(BROKEN, encoding="utf-8")
    result = hub.hsprefs(
        "export", "--subscribers", "-", "--business-unit", "7", "-o", "subscribers/trail.yaml",
        stdin=LIST,
    )  # fmt: skip
    assert (result.code, result.err.count("warning")) == (0, 0)
    assert hub.hsprefs("validate").code == 0


def test_a_broken_project_file_stops_the_export(hub: Hub, project: Path) -> None:
    """The project file itself must be valid: its aliases are what export writes."""
    text = (project / "hsprefs.yaml").read_text("utf-8").replace("gdpr: true", "gdpr: maybe")
    (project / "hsprefs.yaml").write_text(text, encoding="utf-8")
    result = hub.hsprefs("export", "--subscribers", "-", stdin=LIST)
    assert result.code == 1
    assert result.err.startswith("hsprefs: error: hsprefs.yaml:4:9: ")


def _shared_seed() -> dict[str, Any]:
    seed = copy.deepcopy(SEED)
    seed["opt_outs"] = []
    seed["statuses"] = [
        {"email": f"p{i}@example.com", "subscription": "11", "status": "SUBSCRIBED",
         "timestamp": "2026-01-01T00:00:00Z", "source": "Form", "legal_basis": basis,
         "legal_basis_explanation": why}
        for i, (basis, why) in enumerate(
            [("CONSENT_WITH_NOTICE", "Signed up on the website")] * 3
            + [("LEGITIMATE_INTEREST_CLIENT", "Customer")]
        )
    ]  # fmt: skip
    return seed


def test_shared_legal_basis_goes_into_defaults(hub: Hub, env: Path) -> None:
    """The legal basis most subscribed statuses share is written once, in defaults; the
    others keep their own; the file plans no changes."""
    hub.admin("POST", "load", _shared_seed())
    emails = "".join(f"p{i}@example.com\n" for i in range(4))
    result = hub.hsprefs("export", "--subscribers", "-", "--quiet", stdin=emails)
    assert result.code == 0
    body = result.out.split("version: 1\n", 1)[1]
    assert body == (
        "business_unit: 0\n"
        "defaults:                 # the legal basis most subscribed statuses share\n"
        "  legal_basis: CONSENT_WITH_NOTICE\n"
        '  legal_basis_explanation: "Signed up on the website"\n'
        "subscribers:\n"
        "  p0@example.com:\n    newsletter: subscribed\n"
        "  p1@example.com:\n    newsletter: subscribed\n"
        "  p2@example.com:\n    newsletter: subscribed\n"
        "  p3@example.com:\n"
        "    newsletter:\n"
        "      status: subscribed\n"
        "      legal_basis: LEGITIMATE_INTEREST_CLIENT\n"
        '      legal_basis_explanation: "Customer"\n'
        ""
    )
