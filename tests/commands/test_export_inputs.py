"""`hsprefs export` inputs and wording: empty lists, CSV edge cases shared with rosters,
a business unit the portal lacks, and counts in the singular.

Bad input is one error line naming file:line:column, exit 1, no call to HubSpot and no
file written (an existing -o file is left as it was).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.commands.conftest import PROJECT, SEED, Hub

KEPT = "version: 1\nsubscribers:\n  eve@example.com:\n    newsletter: subscribed\n"
EMPTY = (
    "the subscriber list has no email address, so there is nothing to export (give one email "
    "address per line, or a CSV file with an 'email' column; nothing was written)"
)


@pytest.fixture
def kept(project: Path) -> Path:
    """An existing subscriber file that a failed export must leave alone."""
    path = project / "subscribers" / "all.yaml"
    path.write_text(KEPT, encoding="utf-8")
    return path


@pytest.mark.parametrize("stdin", ["", "\n\n", "# nobody\n", "email\r\n"])
def test_an_empty_list_on_stdin_writes_nothing(hub: Hub, kept: Path, stdin: str) -> None:
    """Nothing on stdin (or only blanks, comments, a header): exit 1 and -o is untouched."""
    hub.reset_counts()
    result = hub.hsprefs("export", "--subscribers", "-", "-o", "subscribers/all.yaml", stdin=stdin)
    assert (result.code, result.out, result.err) == (
        1,
        "",
        f"hsprefs: error: <stdin>:1:1: {EMPTY}\n",
    )
    assert kept.read_text(encoding="utf-8") == KEPT
    assert hub.counts() == {}


def test_an_empty_list_file_writes_nothing(hub: Hub, kept: Path) -> None:
    """An empty --subscribers file: the same error, naming the file."""
    (kept.parent.parent / "nobody.csv").write_bytes(b"")
    result = hub.hsprefs("export", "--subscribers", "nobody.csv", "-o", "subscribers/all.yaml")
    assert (result.code, result.err) == (1, f"hsprefs: error: nobody.csv:1:1: {EMPTY}\n")
    assert kept.read_text(encoding="utf-8") == KEPT


# -- CSV, read as rosters read it -------------------------------------------------------------

GROUP = """\
version: 1
groups:
  listed:
    members_file: {roster}
    set: {{newsletter: not_specified}}
defaults:
  legal_basis: CONSENT_WITH_NOTICE
  legal_basis_explanation: Signed up
"""


def _as_roster(project: Path, name: str, data: bytes) -> None:
    """``subscribers/<name>`` both as an export list and as the roster of a group."""
    (project / "subscribers" / name).write_bytes(data)
    group = GROUP.format(roster=name)
    (project / "subscribers" / "group.yaml").write_text(group, encoding="utf-8")


def test_a_quoted_multi_line_cell_reads_in_export_and_rosters(hub: Hub, project: Path) -> None:
    """A valid CSV with a line break inside quotes: export reads it, and so does a roster."""
    data = b'name,email\n"Doe,\nAnn",ann@example.com\nCid,cid@example.com\n'
    _as_roster(project, "r2.csv", data)
    assert hub.hsprefs("validate").code == 0
    result = hub.hsprefs("export", "--subscribers", "subscribers/r2.csv", "--quiet")
    assert (result.code, result.err) == (0, "")
    assert re.findall(r"^  (\S+):$", result.out, re.MULTILINE) == [
        "ann@example.com",
        "cid@example.com",
    ]


def test_bom_and_crlf_read_in_export_and_rosters(hub: Hub, project: Path) -> None:
    """A spreadsheet's CSV (byte-order mark, CRLF line ends) works in both."""
    data = b"\xef\xbb\xbfEmail,Name\r\nann@example.com,Ann\r\n\r\ncid@example.com,Cid\r\n"
    _as_roster(project, "sheet.csv", data)
    assert hub.hsprefs("validate").code == 0
    result = hub.hsprefs("export", "--subscribers", "subscribers/sheet.csv", "--quiet")
    assert result.code == 0
    assert re.findall(r"^  (\S+):$", result.out, re.MULTILINE) == [
        "ann@example.com",
        "cid@example.com",
    ]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (
            b"email,email\nann@example.com,cid@example.com\n",
            "1:7: the CSV header has a second 'email' column (the first is at 1:1); keep one "
            "column of addresses named 'email'",
        ),
        (
            b'email,name\nann@example.com,"Ann\ncid@example.com,Cid\n',
            "2:17: this quoted cell is never closed; add the closing '\"' (a quote inside a "
            'cell is written twice: "")',
        ),
    ],
    ids=["two-email-columns", "unterminated-quote"],
)
def test_broken_csv_is_refused_alike(hub: Hub, project: Path, data: bytes, where: str) -> None:
    """Export and validate refuse the same broken CSV at the same place; nothing is read."""
    _as_roster(project, "bad.csv", data)
    validate = hub.hsprefs("validate")
    assert validate.code == 1
    assert (
        validate.out.splitlines()[0] == f"subscribers/bad.csv:{where.replace(': ', ': error: ', 1)}"
    )
    hub.reset_counts()
    result = hub.hsprefs("export", "--subscribers", "subscribers/bad.csv", "-o", "out.yaml")
    assert (result.code, result.out) == (1, "")
    assert result.err == f"hsprefs: error: subscribers/bad.csv:{where}\n"
    assert hub.counts() == {}
    assert not (project / "out.yaml").exists()


# -- a business unit the portal does not have -------------------------------------------------


def test_an_unknown_business_unit_with_a_project(hub: Hub, project: Path) -> None:
    """The read's failure in export's own words: what failed, and that nothing was written."""
    result = hub.hsprefs(
        "export", "--subscribers", "-", "--business-unit", "9", "-o", "b9.yaml",
        stdin="ann@example.com\n",
    )  # fmt: skip
    assert (result.code, result.out) == (1, "")
    assert re.fullmatch(
        r"hsprefs: error: export of business unit 9 failed: could not read 1 of 1 subscribers; "
        r"first error: POST /communication-preferences/2026-03/statuses/batch/read was "
        r"refused: HubSpot answered 400 Bad Request: VALIDATION_ERROR: Business unit 9 does "
        r"not exist in portal 4242 \(nothing was written; fix the cause and run export "
        r"again\) \[correlationId [0-9a-f-]+\]\n",
        result.err,
    ), result.err
    assert "plan" not in result.err
    assert not (project / "b9.yaml").exists()


def test_an_unknown_business_unit_without_a_project(hub: Hub, env: Path) -> None:
    """Without a project the definitions call fails first, with HubSpot's words."""
    result = hub.hsprefs(
        "export", "--subscribers", "-", "--business-unit", "9", stdin="ann@example.com\n"
    )
    assert (result.code, result.out) == (1, "")
    assert re.fullmatch(
        r"hsprefs: error: GET /communication-preferences/2026-03/definitions was refused: "
        r"HubSpot answered 400 Bad Request: VALIDATION_ERROR: Business unit 9 does not exist "
        r"in portal 4242 \[correlationId [0-9a-f-]+\]\n",
        result.err,
    ), result.err


# -- counts in the singular -------------------------------------------------------------------


def test_one_of_everything_is_singular(hub: Hub, project: Path) -> None:
    """One subscriber, one status, one left out: header and summary are in the singular."""
    seed = dict(SEED)
    seed["statuses"] = [
        {"email": "kim@example.com", "subscription": "11", "status": "UNSUBSCRIBED",
         "timestamp": "2026-01-01T00:00:00Z", "source": "Imported"},
    ]  # fmt: skip
    seed["opt_outs"] = []
    hub.admin("POST", "load", seed)
    text = PROJECT.replace('  newsletter: {id: "11"}\n', "")
    (project / "hsprefs.yaml").write_text(text, encoding="utf-8")
    result = hub.hsprefs(
        "export", "--subscribers", "-", "--include-unset", stdin="kim@example.com\n"
    )
    assert result.code == 0
    assert result.out.splitlines()[0] == (
        "# Exported by hsprefs from portal 4242, business unit 0: 1 subscriber."
    )
    assert result.err == (
        "Exported 1 subscriber of business unit 0: 1 with 1 status, 0 opted out of all, "
        "0 with nothing to manage.\n"
        "Left out 1 status of subscriptions without an alias for business unit 0: 11 (add "
        "aliases to hsprefs.yaml to export them).\n"
    )


def test_one_subscribed_status_is_singular(hub: Hub, env: Path) -> None:
    """The legal-basis warning says '1 subscribed status has', not '1 ... statuses have'."""
    seed = dict(SEED)
    seed["statuses"] = [
        {"email": "kim@example.com", "subscription": "11", "status": "SUBSCRIBED",
         "timestamp": "2026-01-01T00:00:00Z", "source": "Imported"},
    ]  # fmt: skip
    seed["opt_outs"] = []
    hub.admin("POST", "load", seed)
    result = hub.hsprefs("export", "--subscribers", "-", stdin="kim@example.com\n")
    assert result.code == 0
    assert result.err == (
        "Exported 1 subscriber of business unit 0: 1 with 1 status, 0 opted out of all, "
        "0 with nothing to manage.\n"
        "Left out 1 not_specified status (--include-unset writes them).\n"
        "warning: 1 subscribed status has no complete legal basis in HubSpot (marked in the "
        "file); on a portal with data-privacy settings on, add legal_basis and "
        "legal_basis_explanation before the file validates.\n"
    )
