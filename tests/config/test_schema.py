"""The JSON Schemas, and the compiled fast path that must agree with jsonschema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.config._acceptor import Unsupported, compile_schema, locate
from reconciler.config._schema import (
    MAPPED_KEYWORDS,
    PROJECT_SCHEMA,
    SUBSCRIBERS_SCHEMA,
    compiled,
    config_validator,
    registry,
    validate,
)
from reconciler.config._yaml import parse
from reconciler.resources import load_schema, schema_names

CONFIG_SCHEMAS = ("project.schema.json", "subscribers.schema.json", "defs.schema.json")


@pytest.mark.parametrize("name", schema_names())
def test_every_schema_is_valid_2020_12(name: str) -> None:
    """Each shipped schema is a valid JSON Schema 2020-12 document."""
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _properties(node: Any, where: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            found.append((f"{where}/properties/{key}", value))
        for key, value in node.items():
            if key != "properties":
                found.extend(_properties(value, f"{where}/{key}"))
        for key, value in node.get("properties", {}).items():
            found.extend(_properties(value, f"{where}/properties/{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_properties(value, f"{where}/{index}"))
    return found


def _described(schema: dict[str, Any], origin: str) -> bool:
    if "title" in schema and "description" in schema:
        return True
    if "$ref" in schema:
        target = (
            registry()
            .resolver()
            .lookup(
                origin.rsplit("/", 1)[0] + "/" + schema["$ref"]
                if not schema["$ref"].startswith("#")
                else origin + schema["$ref"]
            )
        )
        return "title" in target.contents and (
            "description" in schema or "description" in target.contents
        )
    return False


@pytest.mark.parametrize("name", CONFIG_SCHEMAS)
def test_every_property_has_title_and_description(name: str) -> None:
    """Editors show help for every key: each property has a title and a description."""
    origin = "https://hsprefs.dev/schemas/" + name
    missing = [
        where
        for where, schema in _properties(load_schema(name), "#")
        if not _described(schema, origin)
    ]
    assert missing == []


def test_config_schemas_compile() -> None:
    """The fast path understands every keyword the config schemas use."""
    assert compiled(PROJECT_SCHEMA) is not None
    assert compiled(SUBSCRIBERS_SCHEMA) is not None


def test_unknown_keyword_refuses_to_compile() -> None:
    """A keyword the compiler does not implement makes it refuse, never guess."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    schema = {"type": "object", "dependentRequired": {"a": ["b"]}}
    reg = Registry().with_resource("urn:x", Resource.from_contents(schema, DRAFT202012))
    with pytest.raises(Unsupported):
        compile_schema(reg, "urn:x")


# Keywords that only annotate or lead to other schemas: they fail nothing themselves.
_STRUCTURE = {"$schema", "$id", "$ref", "$defs", "$comment", "title", "description",
              "default", "examples", "properties", "patternProperties", "items"}  # fmt: skip
_NAMED = ("properties", "patternProperties", "$defs")


def _keywords(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            if key in _NAMED:
                for sub in value.values():
                    found |= _keywords(sub)
            elif isinstance(value, dict | list) and key not in ("enum", "const", "examples"):
                found |= _keywords(value)
    elif isinstance(node, list):
        for item in node:
            found |= _keywords(item)
    return found


@pytest.mark.parametrize("name", CONFIG_SCHEMAS)
def test_every_failing_keyword_has_hsprefs_own_words(name: str) -> None:
    """No schema keyword can fail with jsonschema's own message, whose wording may change."""
    assert _keywords(load_schema(name)) - _STRUCTURE - MAPPED_KEYWORDS == set()


def test_a_missing_key_is_named_in_hsprefs_words() -> None:
    """The missing key is named by hsprefs, whatever jsonschema's own wording."""
    doc = parse(
        b"version: 1\nsubscribers:\n  a@example.com:\n    n: {resubscribe: true}\n", "f.yaml"
    )
    assert [str(f) for f in validate(doc, SUBSCRIBERS_SCHEMA)] == [
        "f.yaml:4:5: error: 'n' is missing the required key 'status'"
    ]
    project = parse(b"subscriptions: {}\n", "hsprefs.yaml")
    assert [str(f) for f in validate(project, PROJECT_SCHEMA)] == [
        "hsprefs.yaml:1:1: error: the file is missing the required key 'version'"
    ]


STATUS = st.sampled_from(["subscribed", "unsubscribed", "not_specified", "SUBSCRIBED", ""])
SCALAR = st.one_of(
    STATUS,
    st.sampled_from(["CONSENT_WITH_NOTICE", "NON_GDPR", "2026-01-01", "101", "x", "a b"]),
    st.booleans(),
    st.none(),
    st.integers(min_value=-3, max_value=200),
    st.sampled_from([0.0, 1.5, 100.0, 101.0, 2.0]),
)
KEY = st.sampled_from(
    [
        "version",
        "business_unit",
        "defaults",
        "subscribers",
        "groups",
        "members",
        "members_file",
        "set",
        "status",
        "resubscribe",
        "consented_at",
        "legal_basis",
        "legal_basis_explanation",
        "unsubscribe_all",
        "newsletter",
        "a@example.com",
        "portal",
        "id",
        "name",
        "gdpr",
        "api_version",
        "subscriptions",
        "policy",
        "max_change_percent",
        "min_managed",
        "max_unsubscribe_all",
        "include",
        "description",
        "bad key",
    ]
)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEY, inner, max_size=4)),
    max_leaves=12,
)


def _document(uri: str) -> st.SearchStrategy[Any]:
    """Mostly near-valid documents: a valid skeleton with random parts."""
    if uri == SUBSCRIBERS_SCHEMA:
        entry = st.dictionaries(
            st.sampled_from(["newsletter", "events", "unsubscribe_all"]),
            st.one_of(
                STATUS,
                st.booleans(),
                st.fixed_dictionaries(
                    {"status": STATUS},
                    optional={
                        "resubscribe": st.booleans(),
                        "legal_basis": st.sampled_from(["NON_GDPR", "nope"]),
                        "legal_basis_explanation": st.sampled_from(["why", ""]),
                        "consented_at": st.sampled_from(["2026-01-01", 5]),
                    },
                ),
                JSON,
            ),
            max_size=3,
        )
        return st.fixed_dictionaries(
            {"version": st.sampled_from([1, 1, 2, 1.0, True])},
            optional={
                "business_unit": st.one_of(st.integers(-1, 5), st.just("0")),
                "subscribers": st.dictionaries(
                    st.sampled_from(["a@example.com", "b@example.com"]), st.one_of(entry, JSON)
                ),
                "groups": st.dictionaries(
                    st.sampled_from(["g", "h"]),
                    st.fixed_dictionaries(
                        {"set": entry},
                        optional={
                            "members": st.lists(st.sampled_from(["a@example.com", 3])),
                            "members_file": st.sampled_from(["x.csv", ""]),
                        },
                    ),
                ),
                "defaults": JSON,
                "extra": JSON,
            },
        )
    ref = st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from(["101", 101, "x", 0, "0101"]),
            "name": st.sampled_from(["Product", ""]),
            "business_unit": st.integers(-1, 5),
            "description": st.just("d"),
            "other": st.just(1),
        },
    )
    return st.fixed_dictionaries(
        {"version": st.sampled_from([1, 2])},
        optional={
            "portal": st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "id": st.integers(0, 3),
                        "gdpr": st.one_of(st.booleans(), st.just("yes")),
                        "api_version": st.sampled_from(["v4", "v5"]),
                    },
                ),
                JSON,
            ),
            "subscriptions": st.dictionaries(
                st.sampled_from(["newsletter", "bad name", "x"]), st.one_of(ref, JSON)
            ),
            "policy": JSON,
            "include": st.one_of(st.lists(st.sampled_from(["a/*.yaml", ""])), JSON),
        },
    )


def _errors(uri: str, instance: Any) -> set[tuple[tuple[Any, ...], str]]:
    validator = config_validator()({"$ref": uri}, registry=registry())
    return {(tuple(e.absolute_path), str(e.validator)) for e in validator.iter_errors(instance)}


def _narrowed(uri: str, instance: Any) -> set[tuple[tuple[Any, ...], str]]:
    fast = compiled(uri)
    assert fast is not None
    found = set()
    for path, part, sub_uri in locate(fast, instance):
        for path_in, validator in _errors(sub_uri, part):
            found.add(((*path, *path_in), validator))
    return found


@pytest.mark.parametrize("uri", [PROJECT_SCHEMA, SUBSCRIBERS_SCHEMA])
@given(data=st.data())
def test_fast_path_agrees_with_jsonschema(uri: str, data: st.DataObject) -> None:
    """The compiled check says valid exactly when jsonschema does."""
    instance = data.draw(st.one_of(_document(uri), JSON))
    fast = compiled(uri)
    assert fast is not None
    validator = config_validator()({"$ref": uri}, registry=registry())
    assert fast.check(instance) == validator.is_valid(instance)


@pytest.mark.parametrize("uri", [PROJECT_SCHEMA, SUBSCRIBERS_SCHEMA])
@given(data=st.data())
def test_narrowing_finds_the_same_errors(uri: str, data: st.DataObject) -> None:
    """Validating only the failing subtrees finds exactly the errors of a full validation."""
    instance = data.draw(_document(uri))
    assert _narrowed(uri, instance) == _errors(uri, instance)
