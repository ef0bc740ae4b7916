"""Schema validation: jsonschema (2020-12, ``referencing`` for cross-file ``$ref``).

Each schema error becomes a :class:`~reconciler.errors.Finding` at the exact position of
the offending key or value, with a message written for people (bounded: values are
quoted through :mod:`._text`). Big documents are first checked by the compiled
acceptor of :mod:`._acceptor`; jsonschema then sees only the failing subtrees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urldefrag, urljoin

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from reconciler.config._acceptor import Compiled, Unsupported, compile_schema, locate
from reconciler.config._text import describe, join_or, quote, suggest
from reconciler.config._yaml import Document
from reconciler.errors import Finding
from reconciler.resources import load_schema, schema_names

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator

__all__ = [
    "BASE_URI",
    "PROJECT_SCHEMA",
    "SUBSCRIBERS_SCHEMA",
    "compiled",
    "config_validator",
    "position",
    "registry",
    "validate",
]

BASE_URI = "https://hsprefs.dev/schemas/"
PROJECT_SCHEMA = BASE_URI + "project.schema.json"
SUBSCRIBERS_SCHEMA = BASE_URI + "subscribers.schema.json"

_KIND_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


# The config language's whole numbers are YAML integers: JSON Schema 2020-12 counts 5.0
# as an integer, but YAML reads `5.0` as a float, and the loader (and HubSpot's ids) take
# whole numbers only. Accepting it here would let a value pass validation that the loader
# then cannot use, so `integer` means a Python int (never a float, never a bool) and a
# whole-number `const` or `enum` refuses a float. The compiled acceptor agrees.
@cache
def config_validator() -> type[Validator]:
    """jsonschema's 2020-12 validator with the config language's whole numbers.

    Built on first use: jsonschema is only asked to word what the compiled acceptor
    refused (or to check a schema it cannot compile), and importing it costs a tenth
    of a second that a valid config need not pay.
    """
    from jsonschema import Draft202012Validator, ValidationError, validators

    def whole(_checker: Any, instance: Any) -> bool:
        return type(instance) is int

    def const(validator: Any, const: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        # JSON Schema counts 1.0 equal to 1; the config language does not.
        if type(const) is int and type(instance) is float:
            yield ValidationError(f"{const!r} was expected")
            return
        yield from Draft202012Validator.VALIDATORS["const"](validator, const, instance, schema)

    def enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        # The same for an enum that lists whole numbers: 1.0 is not among [1, 2].
        floats = [e for e in enums if type(e) is float]
        if type(instance) is float and not floats and instance in enums:
            yield ValidationError(f"{instance!r} is not one of {enums!r}")
            return
        yield from Draft202012Validator.VALIDATORS["enum"](validator, enums, instance, schema)

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", whole)
    extended: type[Validator] = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator, validators={"const": const, "enum": enum}, type_checker=checker
    )
    return extended


@cache
def registry() -> Registry[Any]:
    """Every shipped schema, registered under ``BASE_URI + file name``.

    The files carry no ``$id``, so that editors resolve their relative ``$ref``s
    against the files' own location, as this registry does against ``BASE_URI``.
    """
    resources = [
        (BASE_URI + name, Resource.from_contents(_contents(name), DRAFT202012))
        for name in schema_names()
    ]
    return Registry().with_resources(resources).crawl()


@cache
def _contents(name: str) -> dict[str, Any]:
    """A schema as registered: without ``$schema``, which would make jsonschema switch
    from :data:`ConfigValidator` to its stock 2020-12 validator when it enters the file
    (the dialect is fixed by the registry instead)."""
    return {k: v for k, v in load_schema(name).items() if k != "$schema"}


@cache
def compiled(uri: str) -> Compiled | None:
    """The compiled acceptor of a schema, or None when it uses unsupported keywords."""
    try:
        return compile_schema(registry(), uri)
    except Unsupported:
        return None


@cache
def _validator(uri: str) -> Validator:
    return config_validator()({"$ref": uri}, registry=registry())


_SCALARS = (str, int, float, bool, type(None))
_ERROR_CACHE: dict[tuple[str, type, Any], list[ValidationError]] = {}
_ERROR_CACHE_MAX = 10_000


def _errors(uri: str, instance: Any) -> list[ValidationError]:
    """jsonschema's errors; for a scalar, computed once per value (a generated file may
    repeat the same mistake a hundred thousand times)."""
    if not isinstance(instance, _SCALARS):
        return list(_validator(uri).iter_errors(instance))
    key = (uri, type(instance), instance)
    found = _ERROR_CACHE.get(key)
    if found is None:
        found = list(_validator(uri).iter_errors(instance))
        if len(_ERROR_CACHE) < _ERROR_CACHE_MAX:
            _ERROR_CACHE[key] = found
    return found


def validate(doc: Document, uri: str) -> list[Finding]:
    """Check ``doc.root`` against the schema at ``uri``; one finding per problem."""
    root = doc.root
    acceptor = compiled(uri)
    failing: Iterable[tuple[tuple[str | int, ...], Any, str]]
    failing = [((), root, uri)] if acceptor is None else locate(acceptor, root)
    findings: list[Finding] = []
    for path, instance, sub_uri in failing:
        for error in _errors(sub_uri, instance):
            for where, said in _messages(error, root, path):
                line, column = where
                message = (
                    _bool_hint(said, doc.file, line, column) if said.endswith(_YAML_BOOL) else said
                )
                findings.append(Finding(doc.file, line, column, message, code="schema"))
    return findings


# A status written as yes/no/on/off/true/false: YAML read a boolean. The marker ends the
# message _alternatives words for it; _bool_hint names what was written.
_YAML_BOOL = " [yaml-bool]"
_STATUS_WORDS = ("subscribed", "unsubscribed", "not_specified")


def _bool_hint(message: str, file: str, line: int, column: int) -> str:
    """The message with the word as written (read back from the file, since YAML has
    already turned it into true or false) and what to write instead."""
    message = message.removesuffix(_YAML_BOOL)
    written = None
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, 1):
                if number == line:
                    written = re.split(r"[\s,#}\]]", text[column - 1 :], maxsplit=1)[0]
                    break
    except OSError:
        pass
    value = message.rsplit(" ", 1)[-1]
    if written and written.lower() != value:
        said: str | None = f"{written!r}, which YAML reads as {value}"
    else:
        said = f"{value} (a yes/no value)" if written else None
    if said:
        message = message.rsplit(" not ", 1)[0] + f" not {said}"
    return message + "; write subscribed or unsubscribed"


def position(root: Any, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
    """The 1-based position of the value at ``path`` (of its key with ``key=True``).

    Containers and empty values are placed at their key, which is where a reader looks.
    """
    if not path:
        return 1, 1
    node = root
    here = (1, 1)
    for step in path:
        locs = getattr(node, "locs", None)
        if locs is None:
            return here
        try:
            loc = locs[step]
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return here
        if isinstance(step, int) or key or isinstance(node, (dict, list)) or node is None:
            here = (loc[0], loc[1])
        else:
            here = (loc[2], loc[3])
    return here


def _subject(path: Sequence[str | int]) -> str:
    if not path:
        return "the file"
    last = path[-1]
    if isinstance(last, int):
        return f"item {last + 1} of {_subject(path[:-1])}"
    return quote(last, 40)


@cache
def _origins() -> dict[int, str]:
    """Which schema document each (sub)schema dict comes from, by identity."""
    found: dict[int, str] = {}

    def walk(node: Any, uri: str) -> None:
        if isinstance(node, dict):
            found[id(node)] = uri
            for child in node.values():
                walk(child, uri)
        elif isinstance(node, list):
            for child in node:
                walk(child, uri)

    for name in schema_names():
        walk(_contents(name), BASE_URI + name)
    return found


def _resolve(schema: Any, error: ValidationError) -> Any:
    """Follow ``$ref`` from a branch of ``error.schema`` to the schema that has content."""
    key = (id(schema), id(error.schema))
    if key not in _RESOLVED:
        _RESOLVED[key] = _follow(schema, _origins().get(id(error.schema), BASE_URI))
    return _RESOLVED[key]


# The schemas are loaded once and never change, so their identities are stable keys.
_RESOLVED: dict[tuple[int, int], Any] = {}


def _follow(schema: Any, base: str) -> Any:
    for _ in range(10):
        if not (isinstance(schema, dict) and "$ref" in schema):
            break
        target = urljoin(base, schema["$ref"])
        try:
            schema = registry().resolver().lookup(target).contents
        except Exception:
            return schema
        base = urldefrag(target)[0]
    return schema


def _kinds(schema: Any, error: ValidationError) -> list[str]:
    """Words for what a (branch) schema accepts: its enum values or its types."""
    target = _resolve(schema, error)
    if not isinstance(target, dict):
        return []
    if "enum" in target:
        return [str(v) for v in target["enum"]]
    if "const" in target:
        return [str(target["const"])]
    kinds = target.get("type")
    if kinds is None:
        return []
    names = kinds if isinstance(kinds, list) else [kinds]
    return [_KIND_WORDS.get(str(n), str(n)) for n in names]


def _fits(schema: Any, instance: Any, error: ValidationError) -> bool:
    target = _resolve(schema, error)
    if not isinstance(target, dict):
        return True
    if "enum" in target:
        return any(type(v) is type(instance) for v in target["enum"])
    kinds = target.get("type")
    if kinds is None:
        return True
    names = kinds if isinstance(kinds, list) else [kinds]
    checker = config_validator().TYPE_CHECKER
    return any(checker.is_type(instance, n) for n in names)


MAPPED_KEYWORDS: Final = frozenset(
    {
        "type", "enum", "const", "required", "additionalProperties", "minProperties",
        "minItems", "minLength", "pattern", "minimum", "exclusiveMinimum", "maximum",
        "exclusiveMaximum", "anyOf", "oneOf", "propertyNames",
    }
)  # fmt: skip
"""The validation keywords whose failures get hsprefs' own words (a test checks that the
shipped schemas use no other); any other keyword would show jsonschema's message."""


def _messages(
    error: ValidationError, root: Any, prefix: tuple[str | int, ...]
) -> Iterator[tuple[tuple[int, int], str]]:
    path: tuple[str | int, ...] = (*prefix, *error.absolute_path)
    subject = _subject(path)
    instance: Any = error.instance
    word = str(error.validator)
    value: Any = error.validator_value
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    at = position(root, path)
    if "propertyNames" in error.relative_schema_path:
        # The instance is the offending key itself; point at it.
        where = position(root, (*path, instance), key=True)
        rule = schema.get("description") or "not a valid name here"
        yield where, f"the name {quote(instance)} is not valid: {rule}"
        return
    if word == "type":
        kinds = value if isinstance(value, list) else [value]
        whole = _whole_hint(instance) if "integer" in kinds else None
        if whole is not None:
            yield at, f"{subject} must be a whole number: {whole}"
            return
        expected = join_or(_KIND_WORDS.get(str(k), str(k)) for k in kinds)
        yield at, f"{subject} must be {expected}, not {describe(instance)}"
    elif word == "enum":
        options = join_or(str(v) for v in value)
        hint = suggest(instance, [str(v) for v in value]) if isinstance(instance, str) else ""
        if isinstance(instance, bool) and all(w in value for w in _STATUS_WORDS):
            hint = _YAML_BOOL
        yield at, f"{subject} must be {options}, not {describe(instance)}{hint}"
    elif word == "const":
        whole = _whole_hint(instance) if type(value) is int and instance == value else None
        if whole is not None:
            yield at, f"{subject} must be a whole number: {whole}"
        else:
            yield at, f"{subject} must be {value}, not {describe(instance)}"
    elif word == "required":
        missing = [p for p in value if isinstance(instance, dict) and p not in instance]
        # jsonschema raises one error per missing key and names it only in its own words;
        # any quoting of the name is accepted so that a change of wording cannot turn two
        # missing keys into the same message twice.
        said = error.message
        named = next((p for p in missing if f"'{p}'" in said or f'"{p}"' in said), missing[0])
        yield at, f"{subject} is missing the required key '{named}'"
    elif word == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        for extra in _extras(instance, schema):
            where = position(root, (*path, extra), key=True)
            listing = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
            yield (
                where,
                f"unknown key {quote(extra, 40)} in {subject}{suggest(extra, allowed)}{listing}",
            )
    elif word in ("minProperties", "minItems") or (word == "minLength" and value == 1):
        yield at, f"{subject} must not be empty"
    elif word == "minLength":
        yield at, f"{subject} must have at least {value} characters"
    elif word == "pattern":
        rule = schema.get("description") or f"it must match {value}"
        yield at, f"{subject} {describe(instance)} is not valid: {rule}"
    elif word in ("minimum", "exclusiveMinimum"):
        yield at, f"{subject} must be at least {value}, not {describe(instance)}"
    elif word in ("maximum", "exclusiveMaximum"):
        yield at, f"{subject} must be at most {value}, not {describe(instance)}"
    elif word in ("anyOf", "oneOf"):
        yield from _alternatives(error, root, prefix, subject, at)
    else:
        text = " ".join(error.message.split())
        yield at, f"{subject}: {text[:120]}"


def _whole_hint(instance: Any) -> str | None:
    """``write 5, not 5.0`` for a float that YAML read from a whole number written as one."""
    if type(instance) is float and instance.is_integer() and abs(instance) < 1e19:
        return f"write {int(instance)}, not {instance!r}"
    return None


def _extras(instance: Any, schema: dict[str, Any]) -> list[str]:
    if not isinstance(instance, dict):
        return []
    properties = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [k for k in instance if k not in properties and not any(p.search(k) for p in patterns)]


def _alternatives(
    error: ValidationError,
    root: Any,
    prefix: tuple[str | int, ...],
    subject: str,
    at: tuple[int, int],
) -> Iterator[tuple[tuple[int, int], str]]:
    options: Any = error.validator_value
    branches: list[Any] = list(options)
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0]
        if isinstance(index, int):
            by_branch.setdefault(index, []).append(sub)
    fitting = [i for i, b in enumerate(branches) if _fits(b, error.instance, error)]
    if len(fitting) == 1:
        for sub in by_branch.get(fitting[0], []):
            yield from _messages(sub, root, prefix)
        return
    if not fitting:
        words = [join_or(_kinds(b, error)) for b in branches]
        whole = _whole_hint(error.instance) if _KIND_WORDS["integer"] in words else None
        if whole is not None:
            yield at, f"{subject} must be a whole number: {whole}"
            return
        expected = ", or ".join(w for w in words if w) or "a different kind of value"
        marker = (
            _YAML_BOOL
            if isinstance(error.instance, bool) and all(w in expected for w in _STATUS_WORDS)
            else ""
        )
        yield at, f"{subject} must be {expected}, not {describe(error.instance)}{marker}"
        return
    fitting_errors = [by_branch.get(i, []) for i in fitting]
    if all(errs and all(e.validator == "required" for e in errs) for errs in fitting_errors):
        names: list[str] = []
        for errs in fitting_errors:
            for e in errs:
                required: Any = e.validator_value
                names.extend(f"'{p}'" for p in required)
        unique = list(dict.fromkeys(names))
        yield at, f"{subject} needs {join_or(unique)}"
        return
    from jsonschema.exceptions import best_match

    best = best_match(e for errs in fitting_errors for e in errs)
    if best is not None:
        yield from _messages(best, root, prefix)
