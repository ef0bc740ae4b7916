"""Live text never breaks what export and definitions write.

HubSpot's definition names and legal-basis explanations are free text: a name may hold a
line break, quotes, ``#``, a colon, a tab or control characters, or be written in a
script without an ASCII form. The exported file must still parse and validate, the
alias lines to paste must still be YAML, and a plan right after must show no changes.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tests.commands.conftest import SEED, Hub

NAMES = {
    "11": 'a\nb # c "q"',
    "12": "Key: value # not a comment",
    "13": "Tab\there",
    "14": "Bell\x07 and \x1b[31mred",
    "15": "NEL\x85LS\u2028PS\u2029end",
    "16": "Über uns",
    "17": "ニュースレター",
}
WHY = 'Said "yes"\n# at the desk: form #7\ttwice'


def _seed() -> dict[str, Any]:
    seed = copy.deepcopy(SEED)
    base = seed["definitions"][0]
    definitions = [d for d in seed["definitions"] if d["business_unit"] != 0]
    for sub_id, name in NAMES.items():
        definitions.append({**base, "id": sub_id, "name": name, "purpose": name})
    seed["definitions"] = definitions
    statuses = []
    for sub_id in NAMES:
        status = {
            "email": "kim@example.com",
            "subscription": sub_id,
            "status": "SUBSCRIBED" if sub_id in ("11", "15") else "UNSUBSCRIBED",
            "timestamp": "2026-01-01T00:00:00Z",
            "source": "Imported",
        }
        if status["status"] == "SUBSCRIBED":
            status["legal_basis"] = "CONSENT_WITH_NOTICE"
            status["legal_basis_explanation"] = WHY
        statuses.append(status)
    seed["statuses"] = statuses
    seed["opt_outs"] = []
    return seed


EXPORTED = """\
# Exported by hsprefs from portal 4242, business unit 0: 1 subscriber.
# Every subscribed and unsubscribed status HubSpot lists is here (not_specified
# ones are left out: --include-unset writes them); delete the lines hsprefs
# should not manage. Opted out of all email: unsubscribe_all: true.
# No hsprefs.yaml was given: add these aliases to its `subscriptions:`
#   a-b-c-q: {id: "11"}                  # "a\\nb # c \\"q\\""
#   bell-and-31mred: {id: "14"}          # "Bell\\u0007 and \\u001b[31mred"
#   key-value-not-a-comment: {id: "12"}  # Key: value # not a comment
#   nel-ls-ps-end: {id: "15"}            # "NEL\\x85LS\\u2028PS\\u2029end"
#   subscription-17: {id: "17"}          # ニュースレター
#   tab-here: {id: "13"}                 # "Tab\\there"
#   uber-uns: {id: "16"}                 # Über uns
version: 1
business_unit: 0
defaults:                 # the legal basis most subscribed statuses share
  legal_basis: CONSENT_WITH_NOTICE
  legal_basis_explanation: "Said \\"yes\\"\\n# at the desk: form #7\\ttwice"
subscribers:
  kim@example.com:
    a-b-c-q: subscribed
    bell-and-31mred: unsubscribed
    key-value-not-a-comment: unsubscribed
    nel-ls-ps-end: subscribed
    subscription-17: unsubscribed
    tab-here: unsubscribed
    uber-uns: unsubscribed
"""


def test_export_writes_live_text_safely(hub: Hub, env: Path) -> None:
    """Names and explanations with breaks, quotes, # and controls: one line each, escaped."""
    hub.admin("POST", "load", _seed())
    result = hub.hsprefs("export", "--subscribers", "-", stdin="kim@example.com\n")
    assert (result.code, result.out) == (0, EXPORTED)
    document = yaml.safe_load(result.out)
    assert document["defaults"]["legal_basis_explanation"] == WHY


def test_the_exported_file_validates_and_plans_no_changes(hub: Hub, env: Path) -> None:
    """A project made of the pasted alias lines and the file validates; plan shows nothing."""
    hub.admin("POST", "load", _seed())
    result = hub.hsprefs("export", "--subscribers", "-", stdin="kim@example.com\n")
    pasted = [line[4:].split("  #")[0].rstrip() for line in result.out.splitlines()[5:12]]
    (env / "subscribers").mkdir()
    (env / "subscribers" / "kim.yaml").write_text(result.out, encoding="utf-8")
    lines = ["version: 1", "portal: {id: 4242, gdpr: true}", "subscriptions:"]
    lines += [f"  {a}" for a in pasted] + ["include: [subscribers/*.yaml]", ""]
    (env / "hsprefs.yaml").write_text("\n".join(lines), encoding="utf-8")
    validate = hub.hsprefs("validate")
    assert validate.code == 0, validate.out
    plan = hub.hsprefs("plan", "--detailed-exitcode")
    assert (plan.code, plan.err) == (0, "")
    assert plan.out.splitlines()[0].endswith("0 blocked, 7 unchanged")


TABLE = """\
ID  NAME                            BRAND  ACTIVE  PURPOSE
11  "a\\nb # c \\"q\\""                0      yes     "a\\nb # c \\"q\\""
12  Key: value # not a comment      0      yes     Key: value # not a comment
13  "Tab\\there"                     0      yes     "Tab\\there"
14  "Bell\\u0007 and \\u001b[31mred"  0      yes     "Bell\\u0007 and \\u001b[31mred"
15  "NEL\\x85LS\\u2028PS\\u2029end"    0      yes     "NEL\\x85LS\\u2028PS\\u2029end"
16  Über uns                        0      yes     Über uns
17  ニュースレター                  0      yes     ニュースレター
71  Trail News                      7      yes     Marketing
72  Trail Offers                    7      yes     Sales

Aliases for hsprefs.yaml (under subscriptions:):
  a-b-c-q: {id: "11"}                         # "a\\nb # c \\"q\\""
  key-value-not-a-comment: {id: "12"}         # Key: value # not a comment
  tab-here: {id: "13"}                        # "Tab\\there"
  bell-and-31mred: {id: "14"}                 # "Bell\\u0007 and \\u001b[31mred"
  nel-ls-ps-end: {id: "15"}                   # "NEL\\x85LS\\u2028PS\\u2029end"
  uber-uns: {id: "16"}                        # Über uns
  subscription-17: {id: "17"}                 # ニュースレター
  trail-news: {id: "71", business_unit: 7}    # Trail News
  trail-offers: {id: "72", business_unit: 7}  # Trail Offers
"""


def test_definitions_shows_each_name_on_one_line(hub: Hub, env: Path) -> None:
    """One row and one alias line per definition, however its name is written."""
    hub.admin("POST", "load", _seed())
    result = hub.hsprefs("definitions")
    assert (result.code, result.out, result.err) == (0, TABLE, "")


def test_the_alias_lines_paste_as_yaml(hub: Hub, env: Path) -> None:
    """The alias section, pasted under subscriptions:, is YAML with one alias per definition."""
    hub.admin("POST", "load", _seed())
    out = hub.hsprefs("definitions").out
    pasted = out.split("(under subscriptions:):\n")[1]
    document = yaml.safe_load("subscriptions:\n" + pasted)
    assert document["subscriptions"] == {
        "a-b-c-q": {"id": "11"},
        "key-value-not-a-comment": {"id": "12"},
        "tab-here": {"id": "13"},
        "bell-and-31mred": {"id": "14"},
        "nel-ls-ps-end": {"id": "15"},
        "uber-uns": {"id": "16"},
        "subscription-17": {"id": "17"},
        "trail-news": {"id": "71", "business_unit": 7},
        "trail-offers": {"id": "72", "business_unit": 7},
    }
