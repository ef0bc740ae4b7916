"""`hsprefs export` against the emulator: round trips, exact output, inputs, errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.commands.conftest import PROJECT, Hub
from tests.golden import golden_checker

GOLDEN = Path(__file__).parent / "golden"
BRAND_0 = (
    "email,name\nann@example.com,Ann\nBen@Example.com ,Ben\ncid@example.com,Cid\n"
    "zed@example.com,Zed\n"
)
BRAND_7 = "ann@example.com\ndot@example.com\n"
TEAM = (
    "version: 1\nsubscribers:\n  eve@example.com:\n    newsletter: not_specified\n"
    "defaults:\n  legal_basis: CONSENT_WITH_NOTICE\n  legal_basis_explanation: Signed up\n"
)


check_golden = golden_checker(GOLDEN)


@pytest.fixture
def adopted(project: Path) -> Path:
    """The project with one hand-written subscriber file, so its include matches a file."""
    (project / "subscribers" / "team.yaml").write_text(TEAM, encoding="utf-8")
    (project / "brand0.csv").write_text(BRAND_0, encoding="utf-8")
    (project / "brand7.txt").write_text(BRAND_7, encoding="utf-8")
    return project


def test_round_trip_with_the_project(hub: Hub, adopted: Path) -> None:
    """Export both brands into the project; plan then shows no changes and audit is in sync."""
    first = hub.hsprefs("export", "--subscribers", "brand0.csv", "-o", "subscribers/b0.yaml")
    second = hub.hsprefs(
        "export", "--subscribers", "brand7.txt", "--business-unit", "7", "-o", "subscribers/b7.yaml"
    )
    assert (first.code, first.out, second.code, second.out) == (0, "", 0, "")
    plan = hub.hsprefs("plan", "--detailed-exitcode")
    assert (plan.code, plan.err) == (0, "")
    assert plan.out.splitlines()[0] == (
        "Plan: 0 to subscribe, 0 to unsubscribe, 0 to not-specified, 0 unsubscribe-all, "
        "0 blocked, 9 unchanged"
    )
    assert hub.hsprefs("audit").code == 0


def test_exported_file_with_the_project(hub: Hub, adopted: Path) -> None:
    """Project aliases, every status kind, legal bases, unsubscribe_all; sorted."""
    result = hub.hsprefs("export", "--subscribers", "brand0.csv")
    assert result.code == 0
    check_golden("export-brand0-project.yaml", result.out)
    assert result.err == (
        "Exported 4 subscribers of business unit 0: 2 with 4 statuses, 1 opted out of all, "
        "1 with nothing to manage.\n"
        "Left out 2 not_specified statuses (--include-unset writes them).\n"
    )


def test_include_unset_writes_not_specified_statuses(hub: Hub, adopted: Path) -> None:
    """--include-unset keeps the old behaviour: not_specified lines are written too."""
    result = hub.hsprefs("export", "--subscribers", "brand0.csv", "--include-unset")
    assert result.code == 0
    assert "  zed@example.com:\n    newsletter: not_specified\n    product: not_specified\n" in (
        result.out
    )
    assert result.out.splitlines()[1] == (
        "# Every status HubSpot lists is here, not_specified included; delete the lines"
    )
    assert result.err == (
        "Exported 4 subscribers of business unit 0: 3 with 6 statuses, 1 opted out of all, "
        "0 with nothing to manage.\n"
    )


def test_export_is_stable(hub: Hub, adopted: Path) -> None:
    """Two exports of the same live state, the list in another order, are byte-identical."""
    one = hub.hsprefs("export", "--subscribers", "brand0.csv").out
    shuffled = (
        "zed@example.com\ncid@example.com\nann@example.com\nben@example.com\nann@example.com\n"
    )
    two = hub.hsprefs("export", "--subscribers", "-", stdin=shuffled).out
    assert one == two


def test_round_trip_without_a_project(hub: Hub, env: Path) -> None:
    """Without hsprefs.yaml, aliases come from definition names and the header lists them;
    a project made of those lines plans no changes."""
    result = hub.hsprefs("export", "--subscribers", "-", "--business-unit", "7", stdin=BRAND_7)
    assert result.code == 0
    check_golden("export-brand7-no-project.yaml", result.out)
    aliases = [
        line[4:].split("  #")[0].rstrip()
        for line in result.out.splitlines()
        if re.match(r"#   [a-z]", line)
    ]
    assert aliases == [
        'trail-news: {id: "71", business_unit: 7}',
        'trail-offers: {id: "72", business_unit: 7}',
    ]
    (env / "subscribers").mkdir()
    (env / "subscribers" / "trail.yaml").write_text(result.out, encoding="utf-8")
    lines = ["version: 1", "portal: {id: 4242, gdpr: true}", "subscriptions:"]
    lines += [f"  {a}" for a in aliases] + ["include: [subscribers/*.yaml]", ""]
    (env / "hsprefs.yaml").write_text("\n".join(lines), encoding="utf-8")
    plan = hub.hsprefs("plan", "--detailed-exitcode")
    assert (plan.code, plan.err) == (0, "")
    assert "0 blocked, 3 unchanged" in plan.out.splitlines()[0]


def test_reads_in_chunks_with_the_minimal_calls(hub: Hub, env: Path) -> None:
    """Each chunk is ⌈chunk/batch⌉ status reads and as many wide reads, nothing more."""
    emails = "".join(f"user{i:03d}@example.com\n" for i in range(25))
    hub.reset_counts()
    result = hub.hsprefs(
        "export", "--subscribers", "-", "--batch-size", "4", "--concurrency", "2",
        "--include-unset", stdin=emails,
    )  # fmt: skip
    assert result.code == 0
    assert hub.counts() == {
        "account_info": 1,
        "definitions": 1,
        "statuses.batch.read": 7,
        "statuses.batch.unsubscribe_all_read": 7,
    }
    document = yaml.safe_load(result.out)
    assert list(document["subscribers"]) == [f"user{i:03d}@example.com" for i in range(25)]


def test_export_never_writes(hub: Hub, adopted: Path) -> None:
    """Export only reads: the emulator's write log stays empty."""
    hub.hsprefs("export", "--subscribers", "brand0.csv", "-o", "out.yaml")
    assert hub.admin("GET", "writes")["writes"] == []


def test_left_out_subscriptions_are_reported(hub: Hub, adopted: Path) -> None:
    """With a project lacking an alias, those statuses are left out and counted on stderr."""
    text = PROJECT.replace('  product: {name: "Product Updates"}\n', "")
    (adopted / "hsprefs.yaml").write_text(text, encoding="utf-8")
    result = hub.hsprefs("export", "--subscribers", "brand0.csv")
    assert result.code == 0
    assert "product" not in result.out
    assert result.err.splitlines()[1] == (
        "Left out 3 statuses of subscriptions without an alias for business unit 0: 12 "
        "(add aliases to hsprefs.yaml to export them)."
    )


def test_missing_legal_basis_is_marked_and_warned(hub: Hub, env: Path) -> None:
    """A SUBSCRIBED status without a legal basis is marked in the file and warned about."""
    hub.admin("POST", "load", _seed_with_bare_subscription())
    result = hub.hsprefs("export", "--subscribers", "-", "--quiet", stdin="kim@example.com\n")
    assert result.code == 0
    assert "    newsletter: subscribed  # no legal basis in HubSpot\n" in result.out
    assert result.err == (
        "warning: 1 subscribed status has no complete legal basis in HubSpot (marked in the "
        "file); on a portal with data-privacy settings on, add legal_basis and "
        "legal_basis_explanation before the file validates.\n"
    )


def _seed_with_bare_subscription() -> dict[str, object]:
    from tests.commands.conftest import SEED

    seed = dict(SEED)
    seed["statuses"] = [
        {
            "email": "kim@example.com",
            "subscription": "11",
            "status": "SUBSCRIBED",
            "timestamp": "2026-01-01T00:00:00Z",
            "source": "Imported",
        }
    ]
    seed["opt_outs"] = []
    return seed


def test_bad_lines_fail_before_any_call(hub: Hub, env: Path) -> None:
    """Bad addresses: one line naming file:line:column, exit 1, no call and no output file."""
    (env / "list.txt").write_text("ann@example.com\n\n  not-an-email\nx@y\n", encoding="utf-8")
    hub.reset_counts()
    result = hub.hsprefs("export", "--subscribers", "list.txt", "-o", "out.yaml")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "hsprefs: error: list.txt:3:3: 'not-an-email' is not an email address (and 1 more "
        "bad line) (give one email address per line, or a CSV file with an 'email' column)\n"
    )
    assert hub.counts() == {}
    assert not (env / "out.yaml").exists()


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"\xff\xfeann@example.com\n", "1:1: the file is not valid UTF-8 text (byte 0xFF)"),
        (
            b"email\n" + b"ann@example.com\n" * 5000 + b"b\xc3\xa9n@caf\xe9.example\n",
            "5002:8: the file is not valid UTF-8 text (byte 0xE9)",
        ),
    ],
    ids=["first-byte", "deep-in-a-big-file"],
)
def test_a_list_that_is_not_utf8(hub: Hub, env: Path, data: bytes, where: str) -> None:
    """A byte that is not UTF-8 is one line at its file:line:column; nothing is read."""
    (env / "list.txt").write_bytes(data)
    hub.reset_counts()
    result = hub.hsprefs("export", "--subscribers", "list.txt")
    assert (result.code, result.out) == (1, "")
    assert result.err == (f"hsprefs: error: list.txt:{where} (save the subscriber list as UTF-8)\n")
    assert hub.counts() == {}


def test_csv_without_an_email_column(hub: Hub, env: Path) -> None:
    """A CSV header without an email column is named with its columns."""
    result = hub.hsprefs(
        "export", "--subscribers", "-", stdin="name,address\nAnn,ann@example.com\n"
    )
    assert result.code == 1
    assert result.err == (
        "hsprefs: error: <stdin>:1:1: the CSV header has no 'email' column (found 'name', "
        "'address', separated by commas (',')); name the column of addresses 'email'\n"
    )


def test_missing_list_file(hub: Hub, env: Path) -> None:
    """An unreadable --subscribers file is one error line."""
    result = hub.hsprefs("export", "--subscribers", "nope.csv")
    assert (result.code, result.err) == (
        1,
        "hsprefs: error: cannot read nope.csv: No such file or directory (check the path of "
        "--subscribers)\n",
    )


def test_subscribers_is_required(hub: Hub, env: Path) -> None:
    """--subscribers is required: a usage error, exit 1 (never 2)."""
    result = hub.hsprefs("export")
    assert result.code == 1
    assert "Missing option '--subscribers'" in result.err


def test_api_failure_leaves_no_partial_file(hub: Hub, env: Path) -> None:
    """When HubSpot fails part-way, -o is not created and stdout stays empty."""
    emails = "".join(f"user{i:03d}@example.com\n" for i in range(10))
    hub.admin("POST", "faults", {"kind": "500", "operation": "statuses.batch.read", "count": 50})
    result = hub.hsprefs(
        "export", "--subscribers", "-", "--batch-size", "2", "--concurrency", "1",
        "-o", "out.yaml", stdin=emails,
    )  # fmt: skip
    assert (result.code, result.out) == (1, "")
    # the retries are told, one line per wave, then the error line
    assert result.err.splitlines()[:5] == [
        f"hsprefs: retrying POST statuses/batch/read after HTTP 500 (attempt {n} of 6)"
        for n in range(2, 7)
    ]
    assert result.err.splitlines()[5].startswith("hsprefs: error: ")
    assert sorted(p.name for p in env.iterdir()) == []


def test_another_portals_token_is_refused(hub: Hub, adopted: Path) -> None:
    """With a project, a token of another portal than portal.id is refused."""
    text = PROJECT.replace("id: 4242", "id: 777")
    (adopted / "hsprefs.yaml").write_text(text, encoding="utf-8")
    result = hub.hsprefs("export", "--subscribers", "brand7.txt")
    assert result.code == 1
    assert result.err.startswith("hsprefs: error: the token belongs to portal 4242")


def test_first_export_into_a_new_config_repository(hub: Hub, project: Path) -> None:
    """A project whose include matches nothing yet still lends export its aliases; the
    exported file then makes the project valid and plans no changes."""
    (project / "brand0.csv").write_text(BRAND_0, encoding="utf-8")
    assert hub.hsprefs("validate").code == 1  # the include matches no file yet
    result = hub.hsprefs("export", "--subscribers", "brand0.csv", "-o", "subscribers/all.yaml")
    assert (result.code, result.out) == (0, "")
    assert "newsletter:" in (project / "subscribers" / "all.yaml").read_text()
    assert hub.hsprefs("validate").code == 0
    assert hub.hsprefs("plan", "--detailed-exitcode").code == 0
