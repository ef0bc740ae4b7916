"""Property tests: random valid configs load to the expected state; random damage never
raises anything but the tool's own error."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.config import check, load
from reconciler.errors import ConfigError
from reconciler.model import PairKey, Status, SubscriberKey
from tests.config.conftest import ROOT, TODAY

PROJECT = """\
version: 1
portal: {gdpr: true}
subscriptions:
  newsletter: {id: "101"}
  events: {id: 103}
  product: {name: "Product Updates"}
  outdoor: {id: "201", business_unit: 5}
include: ["files/*.yaml"]
"""
ALIASES = {0: {"newsletter": "101", "events": "103", "product": "product"}, 5: {"outdoor": "201"}}
WORDS = {
    Status.SUBSCRIBED: "subscribed",
    Status.UNSUBSCRIBED: "unsubscribed",
    Status.NOT_SPECIFIED: "not_specified",
}
BASES = ["CONSENT_WITH_NOTICE", "NON_GDPR", "LEGITIMATE_INTEREST_OTHER"]


@dataclass(frozen=True)
class Setting:
    status: Status
    long: bool
    resubscribe: bool
    when: datetime | None
    basis: str | None
    text: str | None


@dataclass(frozen=True)
class Group:
    members: list[str]  # as spelled
    defaults: tuple[str, str] | None
    opt_out: bool | None
    settings: dict[str, Setting]


@dataclass(frozen=True)
class File:
    brand: int
    defaults: tuple[str, str]
    entries: dict[str, tuple[bool | None, dict[str, Setting]]]  # spelled email -> entry
    groups: list[Group]


def _setting(brand: int) -> st.SearchStrategy[Setting]:
    del brand
    return (
        st.builds(
            Setting,
            status=st.sampled_from(list(Status)),
            long=st.booleans(),
            resubscribe=st.just(False),
            when=st.one_of(
                st.none(),
                st.datetimes(datetime(2020, 1, 1), datetime(2026, 9, 30)).map(
                    lambda d: d.replace(microsecond=0, tzinfo=UTC)
                ),
            ),
            basis=st.one_of(st.none(), st.sampled_from(BASES)),
            text=st.one_of(
                st.none(), st.sampled_from(["Form #1", "at the fair: yes", "x 'y' \"z\""])
            ),
        )
        .map(lambda s: s if s.long else Setting(s.status, False, False, None, None, None))
        .map(
            lambda s: Setting(
                s.status,
                s.long,
                # resubscribe: true is valid only with the setting's own evidence.
                s.status is not Status.UNSUBSCRIBED
                and s.long
                and s.basis is not None
                and s.text is not None,
                s.when,
                s.basis,
                s.text,
            )
        )
    )


@st.composite
def configs(draw: st.DrawFn) -> list[File]:
    emails = draw(
        st.lists(
            st.from_regex(r"[a-z]{1,6}\.[a-z]{1,4}", fullmatch=True),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    files: list[File] = []
    taken: set[tuple[int, str]] = set()
    for _ in range(draw(st.integers(1, 3))):
        brand = draw(st.sampled_from([0, 5]))
        entries: dict[str, tuple[bool | None, dict[str, Setting]]] = {}
        for local in draw(st.lists(st.sampled_from(emails), unique=True, max_size=5)):
            email = f"{local}@example.com"
            if (brand, email) in taken:
                continue
            taken.add((brand, email))
            opt_out = draw(st.one_of(st.none(), st.booleans()))
            aliases = draw(st.lists(st.sampled_from(sorted(ALIASES[brand])), unique=True))
            settings = {a: draw(_setting(brand)) for a in aliases}
            if opt_out:
                # With an opt-out of all only unsubscribed statuses can stand.
                settings = {a: s for a, s in settings.items() if s.status is Status.UNSUBSCRIBED}
            if opt_out is None and not settings:
                opt_out = False
            spelled = draw(st.sampled_from([email, email.upper(), f" {email}"]))
            entries[spelled] = (opt_out, settings)
        defaults = (draw(st.sampled_from(BASES)), draw(st.sampled_from(["Web form", "Import"])))
        groups = []
        for _ in range(draw(st.integers(0, 2))):
            # Members are nobody else's, so that no two places speak of one pair.
            count = draw(st.integers(1, 3))
            members = [f"m{len(taken) + i}@example.org" for i in range(count)]
            taken.update((brand, m) for m in members)
            opt_out = draw(st.one_of(st.none(), st.booleans()))
            aliases = draw(st.lists(st.sampled_from(sorted(ALIASES[brand])), unique=True))
            settings = {a: draw(_setting(brand)) for a in aliases}
            if opt_out:
                settings = {a: x for a, x in settings.items() if x.status is Status.UNSUBSCRIBED}
            if opt_out is None and not settings:
                opt_out = True
            own = draw(st.one_of(st.none(), st.just(("NON_GDPR", "Group terms"))))
            spelled = [draw(st.sampled_from([m, m.upper()])) for m in members]
            groups.append(Group(spelled, own, opt_out, settings))
        files.append(File(brand, defaults, entries, groups))
    return files


def _scalar(text: str, quoted: bool) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"' if quoted else text


def render(file: File, quoted: bool) -> str:
    """The file as YAML, block style; ``quoted`` quotes every string it can."""
    q = quoted
    lines = [
        "version: 1",
        f"business_unit: {file.brand}",
        "defaults:",
        f"  legal_basis: {file.defaults[0]}",
        f"  legal_basis_explanation: {_scalar(file.defaults[1], True)}",
        "subscribers:" if file.entries else "subscribers: {}",
    ]
    for email, (opt_out, settings) in file.entries.items():
        lines.append(f"  {_scalar(email, q or email != email.strip())}:")
        if opt_out is not None:
            lines.append(f"    unsubscribe_all: {str(opt_out).lower()}")
        for alias, s in settings.items():
            if not s.long:
                lines.append(f"    {alias}: {_scalar(WORDS[s.status], q)}")
                continue
            lines.append(f"    {alias}:")
            lines.append(f"      status: {WORDS[s.status]}")
            if s.resubscribe:
                lines.append("      resubscribe: true")
            if s.when is not None:
                midnight = s.when.time() == datetime.min.time()
                when = s.when.date().isoformat() if midnight else s.when.isoformat()
                lines.append(f"      consented_at: {_scalar(when, q)}")
            if s.basis:
                lines.append(f"      legal_basis: {s.basis}")
            if s.text:
                lines.append(f"      legal_basis_explanation: {_scalar(s.text, True)}")
    if file.groups:
        lines.append("groups:")
    for index, group in enumerate(file.groups):
        lines.append(f"  g{index}:")
        lines.append(f"    members: [{', '.join(_scalar(m, q) for m in group.members)}]")
        if group.defaults is not None:
            lines.append(
                f"    defaults: {{legal_basis: {group.defaults[0]}, "
                f"legal_basis_explanation: {_scalar(group.defaults[1], True)}}}"
            )
        lines.append("    set:")
        if group.opt_out is not None:
            lines.append(f"      unsubscribe_all: {str(group.opt_out).lower()}")
        for alias, x in group.settings.items():
            if not x.long:
                lines.append(f"      {alias}: {WORDS[x.status]}")
                continue
            parts = [f"status: {WORDS[x.status]}"]
            if x.resubscribe:
                parts.append("resubscribe: true")
            if x.when is not None:
                parts.append(f"consented_at: {_scalar(x.when.isoformat(), True)}")
            if x.basis:
                parts.append(f"legal_basis: {x.basis}")
            if x.text:
                parts.append(f"legal_basis_explanation: {_scalar(x.text, True)}")
            lines.append(f"      {alias}: {{{', '.join(parts)}}}")
    return "\n".join(lines) + "\n"


def expected(
    files: list[File],
) -> tuple[dict[PairKey, tuple[object, ...]], dict[SubscriberKey, bool]]:
    statuses: dict[PairKey, tuple[object, ...]] = {}
    opt_outs: dict[SubscriberKey, bool] = {}
    for file in files:
        for spelled, (opt_out, settings) in file.entries.items():
            email = spelled.strip().lower()
            if opt_out is not None:
                opt_outs[SubscriberKey(file.brand, email)] = opt_out
            for alias, s in settings.items():
                key = PairKey(file.brand, email, ALIASES[file.brand][alias])
                statuses[key] = (
                    s.status,
                    alias,
                    s.resubscribe,
                    s.when,
                    s.basis or file.defaults[0],
                    s.text or file.defaults[1],
                    s.basis is not None and s.text is not None,
                )
        for group in file.groups:
            basis, text = group.defaults or file.defaults
            for spelled in group.members:
                email = spelled.lower()
                if group.opt_out is not None:
                    opt_outs[SubscriberKey(file.brand, email)] = group.opt_out
                for alias, x in group.settings.items():
                    key = PairKey(file.brand, email, ALIASES[file.brand][alias])
                    statuses[key] = (
                        x.status,
                        alias,
                        x.resubscribe,
                        x.when,
                        x.basis or basis,
                        x.text or text,
                        x.basis is not None and x.text is not None,
                    )
    return statuses, opt_outs


@given(files=configs(), quoted=st.booleans())
def test_random_valid_configs_load_to_the_expected_state(files: list[File], quoted: bool) -> None:
    """Whatever valid config is written, DesiredState holds exactly what it declares."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "hsprefs.yaml").write_text(PROJECT)
        (root / "files").mkdir()
        for index, file in enumerate(files):
            (root / "files" / f"f{index}.yaml").write_text(render(file, quoted))
        state = load([root], today=TODAY)
    want_statuses, want_opt_outs = expected(files)
    got = {
        k: (
            v.status,
            v.alias,
            v.resubscribe,
            v.consented_at,
            v.legal_basis,
            v.legal_basis_explanation,
            v.own_evidence,
        )
        for k, v in state.statuses.items()
    }
    assert got == want_statuses
    assert {k: v.unsubscribe_all for k, v in state.opt_outs.items()} == want_opt_outs
    assert state.unresolved == frozenset({"product"})


SAMPLE = (ROOT / "examples" / "subscribers" / "customers.yaml").read_bytes()
EXAMPLE_PROJECT = (ROOT / "examples" / "hsprefs.yaml").read_bytes()


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(SAMPLE)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "repeat"]))
        at = draw(st.integers(0, len(data)))
        if kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            chunk = draw(
                st.one_of(
                    st.binary(max_size=8),
                    st.sampled_from(
                        [b"&a ", b"*a", b"\t", b"[", b"{", b": ", b"- ", b"!!x ", b"\n  "]
                    ),
                )
            )
            data[at:at] = chunk
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            end = len(data) if end == -1 else end + 1
            data[end:end] = data[start:end]
    return bytes(data)


@given(data=damaged())
def test_damaged_files_never_raise_anything_else(data: bytes) -> None:
    """Random byte damage gives findings or a state, and load() raises only ConfigError."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "hsprefs.yaml").write_bytes(EXAMPLE_PROJECT)
        (root / "subscribers").mkdir()
        (root / "subscribers" / "customers.yaml").write_bytes(data)
        (root / "subscribers" / "partners.csv").write_text("email\nheidi@example.com\n")
        state, findings = check([root], today=TODAY)
        assert (state is None) == any(f.severity == "error" for f in findings)
        for finding in findings:
            assert finding.line >= 1
            assert finding.column >= 1
            assert "\n" not in finding.message
            assert len(finding.message) < 600
        if state is None:
            with pytest.raises(ConfigError) as caught:
                load([root], today=TODAY)
            assert caught.value.findings
