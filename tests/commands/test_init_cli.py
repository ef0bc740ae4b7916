"""`hsprefs init` against the emulator: the files, exact output, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from reconciler.resources import schema_dir
from tests.commands.conftest import PORTAL, Hub

CONTACTS = "email\nann@example.com\nben@example.com\ncid@example.com\ndot@example.com\n"
TODAY = datetime.now(UTC).date().isoformat()

PROJECT = f"""\
# yaml-language-server: $schema=schemas/project.schema.json
# Written by hsprefs init from portal {PORTAL} on {TODAY}.
# Next: hsprefs export --business-unit all --subscribers FILE, then hsprefs plan.
version: 1
portal:
  id: {PORTAL}                  # plan and apply refuse a token of another portal
  gdpr: true                # HubSpot holds legal bases: data-privacy settings are on
brands:                     # names for reports; HubSpot's API does not give them
  0: Account
  7: "Brand 7"              # write the brand's name as HubSpot shows it
subscriptions:              # aliases used in subscriber files; rename before export
  newsletter: {{id: "11"}}                      # Newsletter
  product-updates: {{id: "12"}}                 # Product Updates
  print-catalogue: {{id: "13"}}                 # Print Catalogue (inactive)
  trail-news: {{id: "71", business_unit: 7}}    # Trail News, brand 7
  trail-offers: {{id: "72", business_unit: 7}}  # Trail Offers, brand 7
policy:                     # the mass-change guard, with its defaults
  max_change_percent: 30
  min_managed: 10
  max_unsubscribe_all: 50
include:
  - subscribers/*.yaml
"""


def test_init_writes_the_repository(hub: Hub, env: Path) -> None:
    """The project file, .gitignore, README and schemas; what to do next is printed."""
    (env / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    result = hub.hsprefs("init", "repo", "--subscribers", "contacts.csv")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "Wrote 6 files in repo for portal 4242: hsprefs.yaml with 5 subscription types in "
        "2 brands, 1 inactive, .gitignore, README.md and schemas/.\n"
        "gdpr: true was set: HubSpot holds legal bases for the statuses of the subscribers "
        "looked at.\n"
        "Next:\n"
        "  1. name brand 7 under brands: in hsprefs.yaml\n"
        "  2. hsprefs export --business-unit all --subscribers FILE (in repo): one file per "
        "brand under subscribers/\n"
        "  3. hsprefs plan: shows no changes right after the export\n"
    )
    repo = env / "repo"
    assert (repo / "hsprefs.yaml").read_text("utf-8") == PROJECT
    assert (repo / ".gitignore").read_text("utf-8").splitlines()[-1] == ".hsprefs/"
    assert (
        (repo / "README.md")
        .read_text("utf-8")
        .startswith(f"# Email subscription statuses of HubSpot portal {PORTAL}\n")
    )
    for name in ("project", "subscribers", "defs"):
        copied = json.loads((repo / "schemas" / f"{name}.schema.json").read_text("utf-8"))
        assert copied == json.loads((schema_dir() / f"{name}.schema.json").read_text("utf-8"))
    assert (repo / "subscribers").is_dir()


def test_without_a_list_gdpr_is_a_comment(hub: Hub, env: Path) -> None:
    """Without --subscribers nothing shows the privacy settings: a comment says to set it,
    and init makes only the account-info and definitions calls."""
    hub.reset_counts()
    result = hub.hsprefs("init")
    assert result.code == 0
    assert result.out.splitlines()[1] == (
        "gdpr was left commented out (give --subscribers FILE to let init tell); set "
        "gdpr: true if the portal's data-privacy settings are on."
    )
    text = (env / "hsprefs.yaml").read_text("utf-8")
    assert (
        "  # gdpr: true              # set this if the portal's data-privacy (GDPR) settings "
        "are on:\n  #                         # every SUBSCRIBED status then needs a legal basis\n"
    ) in text
    assert hub.counts() == {"account_info": 1, "definitions": 1}
    assert hub.hsprefs("validate").out.startswith("hsprefs.yaml:23:5: error: include")


def test_list_without_legal_bases(hub: Hub, env: Path) -> None:
    """A list whose statuses carry no legal basis leaves gdpr as a comment, and says so."""
    result = hub.hsprefs("init", "--subscribers", "-", stdin="ben@example.com\n")
    assert result.out.splitlines()[1] == (
        "gdpr was left commented out: none of the 1 subscriber looked at has a legal basis "
        "in HubSpot; set gdpr: true if the portal's data-privacy settings are on."
    )


def test_init_never_overwrites(hub: Hub, env: Path) -> None:
    """An existing file of the set stops init before any call; nothing is written."""
    (env / "README.md").write_text("mine\n", encoding="utf-8")
    hub.reset_counts()
    result = hub.hsprefs("init")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "hsprefs: error: README.md exists; init never overwrites a file (move it aside or "
        "run init in an empty folder; nothing was written)\n"
    )
    assert hub.counts() == {}
    assert sorted(p.name for p in env.iterdir()) == ["README.md"]
    assert (env / "README.md").read_text("utf-8") == "mine\n"


def test_init_then_export_all_plans_no_changes(hub: Hub, env: Path) -> None:
    """init, then export --business-unit all: compact files and a plan with no changes."""
    (env / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    assert hub.hsprefs("init", "--subscribers", "contacts.csv").code == 0
    text = (env / "hsprefs.yaml").read_text("utf-8").replace('"Brand 7"', "Trail")
    (env / "hsprefs.yaml").write_text(text, encoding="utf-8")
    result = hub.hsprefs("export", "--business-unit", "all", "--subscribers", "contacts.csv")
    assert (result.code, result.out) == (0, "")
    assert result.err == (
        "Exported 4 subscribers of business unit 0 to subscribers/account.yaml: 2 with 4 "
        "statuses, 1 opted out of all, 1 with nothing to manage.\n"
        "Left out 2 not_specified statuses (--include-unset writes them).\n"
        "Exported 4 subscribers of business unit 7 to subscribers/trail.yaml: 1 with 2 "
        "statuses, 1 opted out of all, 2 with nothing to manage.\n"
        "Left out 4 not_specified statuses (--include-unset writes them).\n"
    )
    trail = (env / "subscribers" / "trail.yaml").read_text("utf-8")
    assert trail.startswith("# yaml-language-server: $schema=../schemas/subscribers.schema.json\n")
    plan = hub.hsprefs("plan", "--detailed-exitcode")
    assert (plan.code, plan.err) == (0, "")
    assert plan.out.splitlines()[0].endswith("0 blocked, 8 unchanged")
    assert hub.hsprefs("validate").code == 0
