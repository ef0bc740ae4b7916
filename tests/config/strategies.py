"""Hypothesis strategies for hostile config repositories (tests/config/test_fuzz.py).

A :class:`Repo` is a small config repository: the project file, subscriber files and a
CSV roster, each either bytes or something that is not a file at all (a symbolic link
out of the repository, a loop, a dangling link, a folder, a FIFO). :func:`repos` starts
from a valid repository whose documents use every key of ``schemas/*.json`` and damages
it: random bytes, deep nesting, alias bombs, huge scalars, odd Unicode and line ends,
duplicate keys, a wrong-typed value in a field, odd CSV, odd files. :func:`schema_fields`
lists every property of every schema object (read from the schemas, not written out
here), so no field is left out of the wrong-type damage.

Sizes are small here, so that many examples fit a CI run; :func:`big_repos` makes the
few large ones the whole-process runs check against the time and memory bounds. Those
are hostile in structure (a 31 MB scalar, a million brackets, an alias bomb) at full
size, but hold at most 100,000 entries: checking entries takes time in proportion to
their number (bench/bench_validate.py measures it), so a file of a million valid entries
is a matter of scale, not of hostility, and is not held to 20 s.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.config.conftest import ROOT

__all__ = [
    "BASE_PROJECT",
    "BASE_SUBSCRIBERS",
    "WRONG",
    "Fifo",
    "Folder",
    "Link",
    "Repo",
    "big_repos",
    "dump",
    "materialize",
    "put",
    "repos",
    "schema_fields",
]

PROJECT_FILE = "hsprefs.yaml"
SUBSCRIBER_FILE = "subscribers/customers.yaml"
SECOND_FILE = "subscribers/outdoor.yaml"
ROSTER_FILE = "subscribers/partners.csv"

# Every key the schemas know, each with a value that is valid on its own.
BASE_PROJECT: dict[str, Any] = {
    "version": 1,
    "portal": {"id": 12345678, "gdpr": True, "api_version": "2026-03", "api_mode": "auto"},
    "brands": {"0": "Account", "5": "Outdoor"},
    "subscriptions": {
        "newsletter": {"id": "101", "description": "The monthly letter"},
        "product": {"name": "Product Updates", "business_unit": 0},
        "events": {"id": 103},
        "outdoor": {"id": "201", "business_unit": 5},
    },
    "policy": {
        "max_change_percent": 30,
        "min_managed": 10,
        "max_unsubscribe_all": 50,
        "revert_newer_changes": False,
    },
    "include": ["subscribers/*.yaml"],
}
BASE_SUBSCRIBERS: dict[str, Any] = {
    "version": 1,
    "business_unit": 0,
    "defaults": {
        "legal_basis": "CONSENT_WITH_NOTICE",
        "legal_basis_explanation": "Signed up on the website",
    },
    "subscribers": {
        "alice@example.com": {"newsletter": "subscribed", "product": "unsubscribed"},
        "bob@example.com": {"unsubscribe_all": True},
        "erin@example.com": {
            "unsubscribe_all": False,
            "newsletter": {
                "status": "subscribed",
                "resubscribe": True,
                "consented_at": "2026-09-01",
                "as_of": "2026-09-02T10:00:00Z",
                "legal_basis": "CONSENT_WITH_NOTICE",
                "legal_basis_explanation": "Re-opted in at the conference, form #88",
            },
        },
    },
    "groups": {
        "partners": {
            "members": ["dave@example.com"],
            "members_file": "partners.csv",
            "defaults": {"legal_basis": "NON_GDPR", "legal_basis_explanation": "Partner terms"},
            "set": {
                "events": "subscribed",
                "unsubscribe_all": False,
                "product": {
                    "status": "subscribed",
                    "resubscribe": True,
                    "consented_at": "2026-08-01T09:30:00+02:00",
                    "as_of": "2026-08-02",
                    "legal_basis": "CONSENT_WITH_NOTICE",
                    "legal_basis_explanation": "Partner event sign-up",
                },
            },
        }
    },
}
SECOND_SUBSCRIBERS: dict[str, Any] = {
    "version": 1,
    "business_unit": 5,
    "defaults": {"legal_basis": "NON_GDPR", "legal_basis_explanation": "Shop terms"},
    "subscribers": {"ivan@example.com": {"outdoor": "unsubscribed"}},
}
BASE_ROSTER = "email,company\nheidi@example.com,Heidi Outfitters\n"

# A value of each kind YAML can give; every field gets each one in turn.
WRONG: dict[str, Any] = {
    "list": [1, "two"],
    "map": {"key": "value"},
    "int": 7,
    "bigint": 10**30,
    "negative": -1,
    "bool": True,
    "null": None,
    "float": 1.5,
    "text": "text",
    "empty-text": "",
    "date": date(2026, 1, 2),
}

# -- the schemas' fields ---------------------------------------------------------------

ANY = "*"  # any key of a mapping the schema gives additionalProperties for
ITEM = "[]"  # any item of a list


def _schemas() -> dict[str, dict[str, Any]]:
    folder = ROOT / "schemas"
    return {p.name: json.loads(p.read_text("utf-8")) for p in folder.glob("*.schema.json")}


def _resolve(node: dict[str, Any], here: str, all_: dict[str, dict[str, Any]]) -> Any:
    while "$ref" in node:
        target, _, pointer = node["$ref"].partition("#")
        here = target or here
        node = all_[here]
        for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
            node = node[part]
    return node, here


def _walk(
    node: dict[str, Any],
    here: str,
    path: tuple[Any, ...],
    all_: dict[str, dict[str, Any]],
    seen: set[tuple[Any, ...]],
) -> Iterator[tuple[Any, ...]]:
    node, here = _resolve(node, here, all_)
    for branch in node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", []):
        yield from _walk(branch, here, path, all_, seen)
    named = node.get("properties", {})
    for name, sub in named.items():
        child = (*path, name)
        if child not in seen:
            seen.add(child)
            yield child
            yield from _walk(sub, here, child, all_, seen)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        child = (*path, (ANY, frozenset(named)))
        if child not in seen:
            seen.add(child)
            yield child
            yield from _walk(extra, here, child, all_, seen)
    if isinstance(node.get("items"), dict):
        child = (*path, ITEM)
        if child not in seen:
            seen.add(child)
            yield child
            yield from _walk(node["items"], here, child, all_, seen)


def schema_fields() -> list[tuple[str, tuple[Any, ...]]]:
    """Every field of the two config schemas: ``(file in the repo, path of keys)``.

    A path element is a key, ``(ANY, keys the schema names)`` for any other key of a
    mapping, or ``ITEM`` for any item of a list.
    """
    all_ = _schemas()
    out: list[tuple[str, tuple[Any, ...]]] = []
    for schema, file in (
        ("project.schema.json", PROJECT_FILE),
        ("subscribers.schema.json", SUBSCRIBER_FILE),
    ):
        out.extend((file, path) for path in _walk(all_[schema], schema, (), all_, set()))
    return out


def show(path: tuple[Any, ...]) -> str:
    """A field's path as people read it: ``subscribers.*.*.status``."""
    return ".".join(p[0] if isinstance(p, tuple) else p for p in path) or "(root)"


def put(doc: Any, path: tuple[Any, ...], value: Any) -> int:
    """Set every place ``path`` reaches in ``doc`` to ``value``; how many it reached."""
    if not path:
        return 0
    head, rest = path[0], path[1:]
    if head == ITEM:
        if not isinstance(doc, list):
            return 0
        places = list(range(len(doc)))
    elif isinstance(head, tuple):
        if not isinstance(doc, dict):
            return 0
        places = [k for k in doc if k not in head[1]]
    else:
        if not isinstance(doc, dict) or head not in doc:
            return 0
        places = [head]
    reached = 0
    for place in places:
        if rest:
            reached += put(doc[place], rest, value)
        else:
            doc[place] = copy.deepcopy(value)
            reached += 1
    return reached


def dump(doc: Any, flow: bool = False) -> bytes:
    """``doc`` as YAML text (block style unless ``flow``)."""
    text = yaml.dump(
        doc,
        Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        sort_keys=False,
        default_flow_style=flow,
        allow_unicode=True,
        width=10**6,
    )
    return text.encode("utf-8")


# -- what a repository holds -------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A symbolic link; ``target`` ``OUTSIDE/…`` points out of the repository."""

    target: str


@dataclass(frozen=True)
class Folder:
    pass


@dataclass(frozen=True)
class Fifo:
    pass


Node = bytes | Link | Folder | Fifo


@dataclass(frozen=True)
class Repo:
    """Files by path relative to the repository root, and what was done to them."""

    files: tuple[tuple[str, Node], ...]
    damage: tuple[str, ...]

    def get(self, name: str) -> Node | None:
        return dict(self.files).get(name)

    def __repr__(self) -> str:
        # Short: a failing example's files can be megabytes; the damage says what it is.
        sizes = {n: len(f) if isinstance(f, bytes) else f for n, f in self.files}
        shown = {n: sizes[n] for n in list(sizes)[:8]}
        return f"Repo(damage={self.damage!r}, files={shown!r}, {len(sizes)} in all)"


@functools.cache
def _base() -> tuple[tuple[str, bytes], ...]:
    return (
        (PROJECT_FILE, dump(BASE_PROJECT)),
        (SUBSCRIBER_FILE, dump(BASE_SUBSCRIBERS)),
        (SECOND_FILE, dump(SECOND_SUBSCRIBERS, flow=True)),
        (ROSTER_FILE, BASE_ROSTER.encode()),
    )


def base_files() -> dict[str, Node]:
    """The valid repository, as a fresh mapping the caller may change."""
    return dict(_base())


OUTSIDE_SUBSCRIBERS = (
    b"version: 1\nsubscribers:\n  mallory@example.com: {newsletter: unsubscribed}\n"
)


def materialize(repo: Repo, root: Path, outside: Path) -> None:
    """Write ``repo`` under ``root``; links to ``OUTSIDE/…`` point into ``outside``."""
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "subscribers.yaml").write_bytes(OUTSIDE_SUBSCRIBERS)
    (outside / "roster.csv").write_bytes(b"email\nmallory@example.com\n")
    (outside / "folder").mkdir(exist_ok=True)
    (outside / "folder" / "x.yaml").write_bytes(OUTSIDE_SUBSCRIBERS)
    for name, node in repo.files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(node, bytes):
            path.write_bytes(node)
        elif isinstance(node, Link):
            target = node.target
            if target.startswith("OUTSIDE/"):
                target = str(outside / target.removeprefix("OUTSIDE/"))
            path.symlink_to(target)
        elif isinstance(node, Folder):
            path.mkdir(exist_ok=True)
            (path / "inner.yaml").write_bytes(b"version: 1\n")
        else:
            os.mkfifo(path)


# -- damage ------------------------------------------------------------------------------

ODD_TEXT = [
    "\x00",
    "\x01",
    "\x1b[31m",
    "\x7f",
    "\t",
    "\ufeff",  # a BOM inside the text
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",  # Arabic letters
    "\u0085",  # NEL
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
    "\r",
    "\r\n",
    "\u0301",  # a combining accent
    "\U0001f600",
    "\ufffe",
    "\uffff",
    "\\ud800",  # an escaped lone surrogate (meaningful inside double quotes)
    "\\udfff",
    '"\\ud83d"',
    "\\x00",
    "\\0",
    "\\N",
    "\u00e9",
    "\u0130",  # dotted capital I: lower() makes two characters
    "\u212a",  # Kelvin sign: lower() is a plain k
    "\uff20",  # fullwidth @
]
ODD_BYTES = [
    b"\xed\xa0\x80",  # a surrogate encoded as UTF-8: not valid UTF-8
    b"\xc0\x80",  # an overlong NUL
    b"\xff",
    b"\xef\xbb\xbf",  # a UTF-8 BOM
    b"\xff\xfe",  # a UTF-16 BOM
    b"\xfe\xff",
    b"\xf4\x90\x80\x80",  # past U+10FFFF
]
YAML_TOKENS = [
    b"&a ",
    b"*a",
    b"!!python/object:os.system ",
    b"!!binary ",
    b"!local ",
    b"? ",
    b"[",
    b"]",
    b"{",
    b"}",
    b": ",
    b"- ",
    b"|\n",
    b">-\n",
    b"'",
    b'"',
    b"%YAML 1.1\n---\n",
    b"---\n",
    b"...\n",
    b"<<: ",
    b"#",
    b"\n  ",
]


def _lines_with_keys(data: bytes) -> list[int]:
    lines = data.split(b"\n")
    return [
        i for i, line in enumerate(lines) if b":" in line and not line.lstrip().startswith(b"#")
    ]


@st.composite
def _text_damage(draw: st.DrawFn, data: bytes) -> tuple[bytes, str]:
    """One damage to a text file's bytes, and its name."""
    kind = draw(
        st.sampled_from(
            [
                "random-bytes",
                "bytes",
                "odd-unicode",
                "odd-bytes",
                "line-ends",
                "bom",
                "duplicate-key",
                "nesting",
                "alias-bomb",
                "alias",
                "huge-scalar",
                "tokens",
                "empty",
                "truncate",
            ]
        )
    )
    if kind == "random-bytes":
        return draw(st.binary(max_size=300)), kind
    if kind == "empty":
        return draw(st.sampled_from([b"", b"\n", b"---\n", b"~\n", b"[]\n", b"42\n"])), kind
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))], kind
    at = draw(st.integers(0, len(data)))
    if kind == "bytes":
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 6))):
            pos = draw(st.integers(0, max(0, len(buf) - 1)))
            if buf:
                buf[pos] = draw(st.integers(0, 255))
        return bytes(buf), kind
    if kind == "odd-unicode":
        text = data.decode("utf-8", "replace")
        for _ in range(draw(st.integers(1, 4))):
            pos = draw(st.integers(0, len(text)))
            text = text[:pos] + draw(st.sampled_from(ODD_TEXT)) + text[pos:]
        return text.encode("utf-8", "surrogatepass"), kind
    if kind == "odd-bytes":
        return data[:at] + draw(st.sampled_from(ODD_BYTES)) + data[at:], kind
    if kind == "line-ends":
        end = draw(st.sampled_from([b"\r\n", b"\r", "\u0085".encode(), "\u2028".encode(), b"\n\r"]))
        every = draw(st.booleans())
        return (data.replace(b"\n", end) if every else data.replace(b"\n", end, 1)), kind
    if kind == "bom":
        bom = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xff\xfe"]))
        return bom + data, kind
    if kind == "duplicate-key":
        lines = data.split(b"\n")
        keyed = _lines_with_keys(data)
        if not keyed:
            return data + b"\nversion: 1\nversion: 1\n", kind
        index = draw(st.sampled_from(keyed))
        copies = draw(st.integers(1, 3))
        lines[index + 1 : index + 1] = [lines[index]] * copies
        return b"\n".join(lines), kind
    if kind == "nesting":
        depth = draw(st.integers(20, 400))
        if draw(st.booleans()):
            open_, close = draw(st.sampled_from([(b"[", b"]"), (b"{a: ", b"}"), (b"- ", b"")]))
            nested = open_ * depth + b"x" + close * depth
            return data + b"\nnested: " + nested + b"\n", kind
        block = b"".join(b" " * i + b"k:\n" for i in range(depth)) + b" " * depth + b"x\n"
        return data + b"\nnested:\n" + block.replace(b"k:", b" k:"), kind
    if kind == "alias-bomb":
        levels = draw(st.integers(2, 12))
        width = draw(st.integers(2, 12))
        lines = [b'a0: &a0 ["lol"]']
        for i in range(1, levels):
            refs = b",".join([b"*a%d" % (i - 1)] * width)
            lines.append(b"a%d: &a%d [%s]" % (i, i, refs))
        return data + b"\n" + b"\n".join(lines) + b"\n", kind
    if kind == "alias":
        # An anchor on a real value and an alias where the language expects a value.
        lines = data.split(b"\n")
        keyed = _lines_with_keys(data)
        if len(keyed) < 2:
            return data, kind
        first, second = sorted(draw(st.lists(st.sampled_from(keyed), min_size=2, max_size=2)))
        lines[first] = lines[first].replace(b": ", b": &x ", 1)
        head, sep, _ = lines[second].partition(b":")
        lines[second] = head + sep + b" *x"
        return b"\n".join(lines), kind
    if kind == "huge-scalar":
        size = draw(st.sampled_from([9_999, 10_000, 10_001, 65_537, 300_000]))
        char = draw(st.sampled_from(["x", "é", "\U0001f600", " ", "@"]))
        scalar = (char * size).encode()
        style = draw(st.sampled_from(["plain", "quoted", "key"]))
        if style == "plain":
            return data + b"\nhuge: " + scalar + b"\n", kind
        if style == "quoted":
            return data + b'\nhuge: "' + scalar + b'"\n', kind
        return data + b"\n" + scalar + b": 1\n", kind
    token = draw(st.sampled_from(YAML_TOKENS))
    return data[:at] + token + data[at:], kind


@st.composite
def _wrong_type(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """A wrong-typed value in one field of the project or a subscriber file."""
    fields = schema_fields()
    file, path = draw(st.sampled_from(fields))
    kind = draw(st.sampled_from(sorted(WRONG)))
    doc = copy.deepcopy(BASE_PROJECT if file == PROJECT_FILE else BASE_SUBSCRIBERS)
    put(doc, path, WRONG[kind])
    return file, dump(doc, flow=draw(st.booleans())), f"wrong-type {show(path)}={kind}"


@st.composite
def _wrong_key(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """A key of another type than text in one of the mappings."""
    file = draw(st.sampled_from([PROJECT_FILE, SUBSCRIBER_FILE]))
    doc = copy.deepcopy(BASE_PROJECT if file == PROJECT_FILE else BASE_SUBSCRIBERS)
    maps: list[dict[Any, Any]] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            maps.append(node)
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(doc)
    target = draw(st.sampled_from(maps))
    old = draw(st.sampled_from(sorted(target, key=str)))
    new = draw(st.sampled_from([1, 0, -5, 2.5, True, False, None, 10**30, date(2026, 1, 1)]))
    target[new] = target.pop(old)
    return file, dump(doc, flow=draw(st.booleans())), f"wrong-key {old!r}->{new!r}"


CSV_CELLS = [
    "heidi@example.com",
    " Heidi@Example.COM ",
    "not an address",
    "",
    '"quoted@example.com"',
    '"half',
    'in"side@example.com',
    '"a,b@example.com"',
    '"multi\nline@example.com"',
    '""',
    "#comment@example.com",
    "\u202eevil@example.com",
    "caf\u00e9@example.com",
    "a\x00b@example.com",
    "x" * 400 + "@example.com",
    "=cmd|' /C calc'!A0",
]


@st.composite
def _roster(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """A CSV roster (or a plain list) of odd shape."""
    if draw(st.integers(0, 9)) == 0:
        return ROSTER_FILE, draw(st.binary(max_size=200)), "roster random-bytes"
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(
        st.sampled_from(
            [["email"], ["Email", "Name"], ["name", "email"], ["email", "EMAIL"], ["a", "b"], []]
        )
    )
    rows = draw(
        st.lists(
            st.lists(st.sampled_from(CSV_CELLS), min_size=0, max_size=4), min_size=0, max_size=6
        )
    )
    end = draw(st.sampled_from(["\n", "\r\n", "\r", "\u2028"]))
    lines = ([delimiter.join(header)] if header else []) + [delimiter.join(r) for r in rows]
    text = end.join(lines) + draw(st.sampled_from(["", end]))
    if draw(st.booleans()):
        text = "\ufeff" + text
    return ROSTER_FILE, text.encode("utf-8", "surrogatepass"), "roster odd-csv"


ODD_NODES: list[Node] = [
    Link("OUTSIDE/subscribers.yaml"),
    Link("OUTSIDE/roster.csv"),
    Link("OUTSIDE/folder"),
    Link("OUTSIDE/missing.yaml"),
    Link("missing.yaml"),
    Link("self-loop"),  # replaced by the link's own name below
    Link("."),
    Link(".."),
    Link("/"),
    Link("/dev/zero"),
    Link("/dev/null"),
    Folder(),
    Fifo(),
]


@st.composite
def _odd_file(draw: st.DrawFn, files: dict[str, Node]) -> tuple[str, Node, str]:
    """Something that is not a plain file where a file is expected (or near one)."""
    name = draw(
        st.sampled_from(
            [PROJECT_FILE, SUBSCRIBER_FILE, SECOND_FILE, ROSTER_FILE, "subscribers/extra.yaml"]
        )
    )
    node = draw(st.sampled_from(ODD_NODES))
    if node == Link("self-loop"):
        node = Link(Path(name).name)
    elif (
        isinstance(node, Link)
        and not node.target.startswith(("OUTSIDE/", "/"))
        and name != PROJECT_FILE
        and draw(st.booleans())
    ):
        # A loop of two links.
        other = "subscribers/other.yaml"
        files[other] = Link(Path(name).name)
        node = Link(Path(other).name)
    return name, node, f"odd-file {name}={node}"


@st.composite
def repos(draw: st.DrawFn) -> Repo:
    """A config repository with one to three kinds of damage."""
    files = base_files()
    damage: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["text", "text", "wrong-type", "wrong-key", "roster", "file"]))
        if what == "text":
            name = draw(st.sampled_from([PROJECT_FILE, SUBSCRIBER_FILE, SECOND_FILE]))
            current = files.get(name)
            data = current if isinstance(current, bytes) else dump(BASE_SUBSCRIBERS)
            files[name], kind = draw(_text_damage(data))
            damage.append(f"{kind} {name}")
        elif what == "wrong-type":
            name, files[name], kind = draw(_wrong_type())
            damage.append(kind)
        elif what == "wrong-key":
            name, files[name], kind = draw(_wrong_key())
            damage.append(kind)
        elif what == "roster":
            name, files[name], kind = draw(_roster())
            damage.append(kind)
        else:
            name, node, kind = draw(_odd_file(files))
            files[name] = node
            damage.append(kind)
    return Repo(tuple(sorted(files.items())), tuple(damage))


@st.composite
def big_repos(draw: st.DrawFn) -> Repo:
    """A repository with one large hostile file, for the whole-process bounds."""
    files = base_files()
    kind = draw(
        st.sampled_from(
            ["huge-scalar", "nesting", "alias-bomb", "duplicates", "many-files", "big-roster"]
        )
    )
    name = SUBSCRIBER_FILE
    if kind == "huge-scalar":
        size = draw(st.integers(1, 31)) * 1_000_000
        files[name] = b"version: 1\ndefaults: {legal_basis_explanation: '" + b"x" * size + b"'}\n"
    elif kind == "nesting":
        depth = draw(st.sampled_from([10_000, 100_000, 1_000_000]))
        files[name] = b"version: 1\nx: " + b"[" * depth + b"]" * depth + b"\n"
    elif kind == "alias-bomb":
        lines = [b'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for i in range(1, draw(st.integers(8, 30))):
            lines.append(b"a%d: &a%d [%s]" % (i, i, b",".join([b"*a%d" % (i - 1)] * 9)))
        files[name] = b"version: 1\n" + b"\n".join(lines) + b"\n"
    elif kind == "duplicates":
        count = draw(st.sampled_from([10_000, 50_000]))
        files[name] = b"version: 1\nsubscribers:\n" + (
            b"  a@example.com: {newsletter: unsubscribed}\n" * count
        )
    elif kind == "many-files":
        for index in range(draw(st.sampled_from([999, 1001, 3000]))):
            files[f"subscribers/f{index:05d}.yaml"] = b"version: 1\n"
    else:
        rows = draw(st.sampled_from([10_000, 100_000]))
        files[ROSTER_FILE] = b"email\n" + b"".join(b"p%d@example.com\n" % i for i in range(rows))
    return Repo(tuple(sorted(files.items())), (f"big {kind}",))
