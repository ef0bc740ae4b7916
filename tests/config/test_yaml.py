"""The YAML reader: SafeLoader's values, positions beside them, refusals as findings."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reconciler.config import _yaml
from reconciler.config._yaml import YamlList, YamlMap, parse


def value(text: str) -> Any:
    doc = parse(f"v: {text}\n".encode(), "f.yaml")
    assert doc.findings == []
    return doc.root["v"]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("subscribed", "subscribed"),
        ("'yes'", "yes"),
        ("yes", True),
        ("No", False),
        ("on", True),
        ("OFF", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("42", 42),
        ("-7", -7),
        ("0x1F", 31),
        ("1_000", 1000),
        ("'017'", "017"),
        ("1.5", 1.5),
        ("-.inf", -math.inf),
        ("2026-09-01", "2026-09-01"),
        ("2026-09-01T10:00:00Z", "2026-09-01T10:00:00Z"),
        ("!!str 42", "42"),
        ("!!int '42'", 42),
        ("!!bool 'yes'", True),
        ("!!timestamp 2026-01-01", "2026-01-01"),
        ("=", "="),
        ("a@b.c", "a@b.c"),
    ],
)
def test_scalars_resolve_like_safe_loader(text: str, want: Any) -> None:
    """Plain scalars resolve as PyYAML's SafeLoader does; dates and times stay text."""
    got = value(text)
    assert got == want
    assert type(got) is type(want)


@pytest.mark.parametrize(
    ("text", "want", "message"),
    [
        (
            "017",
            15,
            "f.yaml:1:4: error: YAML reads '017' as the number 15 (a leading 0 means octal); "
            "write the number without the leading 0",
        ),
        (
            "-010",
            -8,
            "f.yaml:1:4: error: YAML reads '-010' as the number -8 (a leading 0 means octal); "
            "write the number without the leading 0",
        ),
        (
            "1:30",
            90,
            "f.yaml:1:4: error: YAML reads '1:30' as the number 90 (numbers with ':' are base "
            "60); write 90, or quote it if it is text",
        ),
    ],
)
def test_a_number_yaml_reads_differently_from_its_look_is_a_finding(
    text: str, want: int, message: str
) -> None:
    """Octal (leading 0) and base-60 whole numbers are findings, never silently misread."""
    doc = parse(f"v: {text}\n".encode(), "f.yaml")
    assert [str(f) for f in doc.findings] == [message]
    assert doc.root["v"] == want


def test_nan_is_a_float() -> None:
    """'.nan' is a float NaN, as with SafeLoader."""
    assert math.isnan(value(".nan"))


def test_keys_are_their_source_text() -> None:
    """Keys keep their text: 101, true and dates are keys of that spelling."""
    doc = parse(b"101: a\ntrue: b\n2026-01-01: c\n~: d\n", "f.yaml")
    assert list(doc.root) == ["101", "true", "2026-01-01", "~"]


def test_positions_of_keys_values_and_items() -> None:
    """Every key and value has its 1-based line and column."""
    doc = parse(b"a: 1\nb:\n  c: [x, {d: e}]\n  f: |\n    text\n", "f.yaml")
    root = doc.root
    assert isinstance(root, YamlMap)
    assert root.locs == {"a": (1, 1, 1, 4), "b": (2, 1, 3, 3)}
    assert root["b"].locs == {"c": (3, 3, 3, 6), "f": (4, 3, 4, 6)}
    items = root["b"]["c"]
    assert isinstance(items, YamlList)
    assert items.locs == [(3, 7), (3, 10)]
    assert items[1].locs == {"d": (3, 11, 3, 14)}


@st.composite
def documents(draw: st.DrawFn) -> Any:
    scalars = st.one_of(
        st.text(max_size=12),
        st.integers(-(10**12), 10**12),
        st.booleans(),
        st.none(),
        st.floats(allow_nan=False, allow_infinity=True, width=64),
    )
    data = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
    return draw(st.dictionaries(st.text(max_size=8), data, max_size=5))


@given(data=documents(), flow=st.sampled_from([None, True, False]))
def test_values_equal_safe_load(data: Any, flow: bool | None) -> None:
    """For any document PyYAML writes, the reader builds the same values as safe_load."""
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    doc = parse(text.encode("utf-8"), "f.yaml")
    assert doc.findings == []
    assert doc.root == yaml.safe_load(text)


def test_duplicate_keys_are_all_reported() -> None:
    """Each repeated key is a finding at the repeat; the first value is kept."""
    doc = parse(b"a: 1\nb: {x: 1, x: 2}\na: 3\n", "f.yaml")
    assert [str(f) for f in doc.findings] == [
        "f.yaml:2:11: error: duplicate key 'x' (first at line 2, column 5); a key may appear "
        "only once in a mapping",
        "f.yaml:3:1: error: duplicate key 'a' (first at line 1, column 1); a key may appear "
        "only once in a mapping",
    ]
    assert doc.root == {"a": 1, "b": {"x": 1}}


def test_an_empty_file_has_no_root() -> None:
    """An empty file (or only comments) parses to nothing, without findings."""
    doc = parse(b"# nothing here\n", "f.yaml")
    assert (doc.root, doc.findings, doc.broken) == (None, [], False)


def test_a_byte_order_mark_is_accepted() -> None:
    """A UTF-8 byte order mark at the start is fine."""
    assert parse(b"\xef\xbb\xbfa: 1\n", "f.yaml").root == {"a": 1}


def test_a_bad_number_is_a_finding() -> None:
    """A number too long to be one is reported; parsing goes on."""
    doc = parse(b"a: " + b"9" * 40 + b"\nb: 2\n", "f.yaml")
    assert [f.code for f in doc.findings] == ["yaml-number"]
    assert doc.root["b"] == 2


def test_an_explicit_tag_that_does_not_fit() -> None:
    """'!!int nope' is a finding naming the value."""
    doc = parse(b"a: !!int nope\n", "f.yaml")
    assert [str(f) for f in doc.findings] == ["f.yaml:1:4: error: 'nope' is not a valid int"]


_DEPTH = "error: the YAML is nested more than 32 levels deep; the config language needs far fewer"


def _scanner_refusal(line: int, column: int) -> yaml.YAMLError:
    """The error libyaml 0.2.6 and newer raise for deep nesting, at a 1-based position."""
    mark = yaml.Mark("<byte string>", 0, line - 1, column - 1, None, None)
    return yaml.scanner.ScannerError(
        "while increasing flow level", mark, "exceeded maximum nesting depth", mark
    )


def test_nesting_past_the_limit_is_found_by_the_reader() -> None:
    """40 levels (below any libyaml's own limit) stop at the 33rd level's bracket."""
    doc = parse(b"a: " + b"[" * 40 + b"]" * 40 + b"\n", "f.yaml")
    assert ([str(f) for f in doc.findings], doc.broken) == ([f"f.yaml:1:35: {_DEPTH}"], True)


def test_libyamls_own_depth_refusal_becomes_the_same_finding() -> None:
    """libyaml's scanner refusal (PyYAML 6.0.4) is hsprefs' finding, where the limit was crossed."""
    data = b"version: 1\nx: " + b"[" * 2000 + b"]" * 2000
    refusal = _scanner_refusal(2, 1003)
    findings = _yaml._depth_findings(data, "deep.yaml", refusal)
    assert [(str(f), f.code) for f in findings] == [(f"deep.yaml:2:35: {_DEPTH}", "yaml-depth")]


def test_a_depth_refusal_before_the_limit_is_placed_where_libyaml_stopped() -> None:
    """Were libyaml ever to refuse fewer levels than hsprefs, its place is kept."""
    data = b"x: " + b"[" * 20 + b"]" * 20
    findings = _yaml._depth_findings(data, "f.yaml", _scanner_refusal(1, 14))
    assert [(str(f), f.code) for f in findings] == [(f"f.yaml:1:14: {_DEPTH}", "yaml-depth")]


def test_a_depth_refusal_keeps_the_findings_before_it() -> None:
    """A duplicate key before the deep part is still reported, once."""
    data = b"a: 1\na: 2\nx: " + b"[" * 3000 + b"]" * 3000
    doc = parse(data, "f.yaml")
    assert [str(f) for f in doc.findings] == [
        "f.yaml:2:1: error: duplicate key 'a' (first at line 1, column 1); a key may appear "
        "only once in a mapping",
        f"f.yaml:3:35: {_DEPTH}",
    ]


def test_the_depth_refusal_is_recognised_by_its_problem() -> None:
    """Only libyaml's nesting refusal is mapped; other scanner errors stay syntax errors."""
    other = yaml.scanner.ScannerError(None, None, "found unexpected end of stream", None)
    assert _yaml._is_depth_refusal(_scanner_refusal(1, 1))
    assert not _yaml._is_depth_refusal(other)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            b"a: 'open\n",
            "f.yaml:2:1: error: YAML syntax error: found unexpected end of stream (while "
            "scanning a quoted scalar at line 1, column 4)",
        ),
        (
            b"a: [1, 2\n",
            "f.yaml:2:1: error: YAML syntax error: did not find expected ',' or ']' (while "
            "parsing a flow sequence at line 1, column 4)",
        ),
        (
            b"a: b: c\n",
            "f.yaml:1:5: error: YAML syntax error: mapping values are not allowed in this context",
        ),
        (
            b"a:\n  b: 1\n c: 2\n",
            "f.yaml:3:2: error: YAML syntax error: did not find expected key (while parsing a "
            "block mapping at line 1, column 1)",
        ),
        (
            b"a:\n\tb: 1\n",
            "f.yaml:2:1: error: a tab character cannot indent YAML; indent with spaces",
        ),
        (
            b"- a\nb: 1\n",
            "f.yaml:2:1: error: YAML syntax error: did not find expected '-' indicator (while "
            "parsing a block collection at line 1, column 1)",
        ),
        (
            b"a: @b\n",
            "f.yaml:1:4: error: YAML syntax error: found character that cannot start "
            "any token (while scanning for the next token at line 1, column 4)",
        ),
    ],
)
def test_libyaml_syntax_messages_are_pinned(text: bytes, want: str) -> None:
    """libyaml's words reach users inside hsprefs' line; a change in them fails here first."""
    doc = parse(text, "f.yaml")
    assert [str(f) for f in doc.findings] == [want]
