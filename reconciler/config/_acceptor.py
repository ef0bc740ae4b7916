"""A fast yes/no pre-check compiled from the JSON Schemas, in front of ``jsonschema``.

``jsonschema`` is the validator of record: every schema finding comes from it. It is
also slow on big documents (a 100,000-subscriber file takes it about a minute), so each
schema is first compiled here into plain Python closures that answer one question:
*is this instance certainly valid?* A "yes" skips jsonschema for that instance; a "no"
hands it to jsonschema, which says what is wrong. The compiler accepts only the keywords
it implements exactly as JSON Schema 2020-12 defines them (with one deliberate
difference that the config validator shares: a whole number is an int, never a float
such as 5.0) and refuses any schema with another keyword (:class:`Unsupported`), in
which case the caller uses jsonschema alone.
A test checks that both agree on many random instances.

:func:`locate` narrows a "no" down to the smallest failing subtrees, so that jsonschema
only ever sees the broken parts of a big document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urldefrag, urljoin

from referencing import Registry

__all__ = ["Compiled", "Unsupported", "compile_schema", "locate"]

Check = Callable[[Any], bool]

# "$id" is deliberately absent: the compiler tracks base URIs itself and would get a
# schema that moves its base wrong, so such a schema is refused (an "$id" equal to the
# document's own address moves nothing and is accepted, see _Compiler.fill). "format" is
# an annotation in 2020-12 unless a validator is given a format checker, which none is.
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "format",
        "$defs",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "markdownDescription",
    }
)
_OBJECT_KEYWORDS = frozenset(
    {
        "properties",
        "patternProperties",
        "additionalProperties",
        "required",
        "propertyNames",
        "minProperties",
        "maxProperties",
    }
)
_SUPPORTED = (
    _ANNOTATIONS
    | _OBJECT_KEYWORDS
    | {
        "type",
        "enum",
        "const",
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "anyOf",
        "allOf",
        "oneOf",
        "not",
        "$ref",
    }
)


class Unsupported(Exception):
    """The schema uses a keyword the compiler does not implement."""


def _is_integer(x: Any) -> bool:
    # The config language's whole numbers are ints only (5.0 is refused): see
    # ``config_validator`` in :mod:`._schema`, which this must agree with.
    return type(x) is int


def _is_number(x: Any) -> bool:
    t = type(x)
    return t is int or t is float


_TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
}


@dataclass(slots=True)
class Compiled:
    """One compiled (sub)schema: its check, and what :func:`locate` needs to descend."""

    uri: str
    check: Check = field(default=lambda _x: False)
    # Set only for "plain" object/array schemas whose failures can be narrowed to
    # children: own-level keywords in ``own``, children in the maps below.
    own: Check | None = None
    properties: dict[str, Compiled] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], Compiled]] = field(default_factory=list)
    additional: Compiled | None = None
    items: Compiled | None = None
    # A schema that is only a "$ref" (plus annotations) stands for its target.
    ref: Compiled | None = None

    def children(self, instance: Any) -> Iterator[tuple[str | int, Any, Compiled]]:
        """Each child of ``instance`` with every subschema that applies to it."""
        if isinstance(instance, dict):
            for key, value in instance.items():
                matched = False
                sub = self.properties.get(key)
                if sub is not None:
                    matched = True
                    yield key, value, sub
                for regexp, pat in self.patterns:
                    if regexp.search(key):
                        matched = True
                        yield key, value, pat
                if not matched and self.additional is not None:
                    yield key, value, self.additional
        elif isinstance(instance, list) and self.items is not None:
            for index, value in enumerate(instance):
                yield index, value, self.items


def _equal_check(values: list[Any]) -> Check:
    kinds = {type(v) for v in values}
    if kinds <= {str}:
        allowed = frozenset(values)
        return lambda x: isinstance(x, str) and x in allowed
    if kinds <= {int} or kinds <= {bool} or kinds == {type(None)}:
        allowed_typed = frozenset(values)
        kind = next(iter(kinds))
        if kind is int:
            return lambda x: _is_integer(x) and x in allowed_typed
        return lambda x: type(x) is kind and x in allowed_typed
    raise Unsupported(f"enum/const of {sorted(k.__name__ for k in kinds)}")


def _pointer(base: str, *parts: str | int) -> str:
    """Append JSON-pointer segments to a URI's fragment, escaped."""
    segments = [quote(str(p).replace("~", "~0").replace("/", "~1"), safe="") for p in parts]
    return base + "/" + "/".join(segments)


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda _x: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) and second(x)
    return lambda x: all(c(x) for c in checks)


def _any(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) or second(x)
    return lambda x: any(c(x) for c in checks)


def _combine(word: str, branch: list[Check]) -> Check:
    if word == "allOf":
        return _all(branch)
    if word == "anyOf":
        return _any(branch)
    return lambda x: sum(1 for c in branch if c(x)) == 1


def _bound(test: Callable[[Any, Any], bool], limit: Any) -> Check:
    return lambda x: not _is_number(x) or test(x, limit)


class _Compiler:
    def __init__(self, registry: Registry[Any]) -> None:
        self.resolver = registry.resolver()
        self.done: dict[str, Compiled] = {}
        self.busy: set[str] = set()

    def ref(self, base: str, ref: str) -> Compiled:
        document, fragment = urldefrag(urljoin(base, ref))
        uri = f"{document}#{fragment}"
        target = self.done.get(uri)
        if target is None:
            target = Compiled(uri)
            self.done[uri] = target  # before compiling: recursive schemas terminate
            self.busy.add(uri)
            self.fill(target, self.resolver.lookup(uri).contents)
            self.busy.discard(uri)
        return target

    def sub(self, schema: Any, uri: str) -> Compiled:
        node = Compiled(uri)
        self.fill(node, schema)
        return node

    def fill(self, node: Compiled, schema: Any) -> None:
        if schema is True:
            node.check = lambda _x: True
            return
        if schema is False:
            node.check = lambda _x: False
            return
        if not isinstance(schema, Mapping):
            raise Unsupported(f"schema {schema!r}")
        unknown = set(schema) - _SUPPORTED
        document, fragment = urldefrag(node.uri)
        if "$id" in schema and not fragment and urljoin(document, schema["$id"]) == document:
            unknown.discard("$id")
        if unknown:
            raise Unsupported(", ".join(sorted(unknown)))
        uri = node.uri
        local: list[Check] = []
        if "$ref" in schema:
            target = self.ref(uri, schema["$ref"])
            if not (set(schema) - _ANNOTATIONS - {"$ref"}):
                node.ref = target
            if target.uri in self.busy:
                # Late-bound: a recursive target's check is set after this line runs.
                local.append(lambda x: target.check(x))  # noqa: PLW0108
            else:
                local.append(target.check)
        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            local.append(_any([_TYPES[n] for n in names]))
        if "enum" in schema:
            local.append(_equal_check(list(schema["enum"])))
        if "const" in schema:
            local.append(_equal_check([schema["const"]]))
        local.extend(self._strings(schema))
        local.extend(self._numbers(schema))
        for word in ("allOf", "anyOf", "oneOf"):
            if word in schema:
                branch = [
                    self.sub(s, _pointer(uri, word, i)).check for i, s in enumerate(schema[word])
                ]
                local.append(_combine(word, branch))
        if "not" in schema:
            negated = self.sub(schema["not"], _pointer(uri, "not")).check
            local.append(lambda x: not negated(x))
        local.extend(self._own_container(schema, uri))
        has_children = self._children(node, schema)
        own = _all(local)
        if has_children:
            children = _children_check(node)
            node.check = lambda x: own(x) and children(x)
            # Narrowing to children is sound only when no keyword looks at the whole
            # instance in a way that a child's failure could change.
            if not {"$ref", "anyOf", "allOf", "oneOf", "not", "enum", "const"} & set(schema):
                node.own = own
        else:
            node.check = own

    def _strings(self, schema: Mapping[str, Any]) -> list[Check]:
        out: list[Check] = []
        if "minLength" in schema:
            low = schema["minLength"]
            out.append(lambda x: not isinstance(x, str) or len(x) >= low)
        if "maxLength" in schema:
            high = schema["maxLength"]
            out.append(lambda x: not isinstance(x, str) or len(x) <= high)
        if "pattern" in schema:
            search = re.compile(schema["pattern"]).search
            out.append(lambda x: not isinstance(x, str) or search(x) is not None)
        return out

    def _numbers(self, schema: Mapping[str, Any]) -> list[Check]:
        out: list[Check] = []
        bounds: dict[str, Callable[[Any, Any], bool]] = {
            "minimum": lambda x, v: x >= v,
            "maximum": lambda x, v: x <= v,
            "exclusiveMinimum": lambda x, v: x > v,
            "exclusiveMaximum": lambda x, v: x < v,
        }
        for word, test in bounds.items():
            if word in schema:
                out.append(_bound(test, schema[word]))
        return out

    def _own_container(self, schema: Mapping[str, Any], uri: str) -> list[Check]:
        own: list[Check] = []
        if "required" in schema:
            # Set comparisons of the keys run in C: a plan has a dozen keys per change.
            required = frozenset(schema["required"])
            own.append(lambda x: not isinstance(x, dict) or required <= x.keys())
        if "minProperties" in schema:
            low = schema["minProperties"]
            own.append(lambda x: not isinstance(x, dict) or len(x) >= low)
        if "maxProperties" in schema:
            high = schema["maxProperties"]
            own.append(lambda x: not isinstance(x, dict) or len(x) <= high)
        if "minItems" in schema:
            least = schema["minItems"]
            own.append(lambda x: not isinstance(x, list) or len(x) >= least)
        if "maxItems" in schema:
            most = schema["maxItems"]
            own.append(lambda x: not isinstance(x, list) or len(x) <= most)
        if "propertyNames" in schema:
            names = self.sub(schema["propertyNames"], _pointer(uri, "propertyNames")).check
            own.append(lambda x: not isinstance(x, dict) or all(names(k) for k in x))
        if schema.get("additionalProperties") is False:
            allowed = frozenset(schema.get("properties", {}))
            regexps = [re.compile(p) for p in schema.get("patternProperties", {})]
            if not regexps:
                own.append(lambda x: not isinstance(x, dict) or x.keys() <= allowed)
            else:
                own.append(
                    lambda x: (
                        not isinstance(x, dict)
                        or all(k in allowed or any(r.search(k) for r in regexps) for k in x)
                    )
                )
        return own

    def _children(self, node: Compiled, schema: Mapping[str, Any]) -> bool:
        uri = node.uri
        node.properties = {
            k: self.sub(s, _pointer(uri, "properties", k))
            for k, s in schema.get("properties", {}).items()
        }
        node.patterns = [
            (re.compile(p), self.sub(s, _pointer(uri, "patternProperties", p)))
            for p, s in schema.get("patternProperties", {}).items()
        ]
        extra = schema.get("additionalProperties")
        if extra is not None and extra is not False:
            node.additional = self.sub(extra, _pointer(uri, "additionalProperties"))
        if "items" in schema:
            node.items = self.sub(schema["items"], _pointer(uri, "items"))
        return bool(node.properties or node.patterns or node.additional or node.items)


def _children_check(node: Compiled) -> Check:
    props = node.properties
    patterns = node.patterns
    items = node.items

    if items is not None and not props and not patterns and node.additional is None:
        item_check = items.check
        return lambda x: not isinstance(x, list) or all(item_check(v) for v in x)

    if not patterns:
        prop_checks = {k: c.check for k, c in props.items()}
        extra_check = node.additional.check if node.additional is not None else None

        def check_object(x: Any) -> bool:
            if not isinstance(x, dict):
                return not isinstance(x, list) or items is None or all(items.check(v) for v in x)
            for key, value in x.items():
                check = prop_checks.get(key, extra_check)
                if check is not None and not check(value):
                    return False
            return True

        return check_object

    def check_general(x: Any) -> bool:
        return all(sub.check(value) for _key, value, sub in node.children(x))

    return check_general


def compile_schema(registry: Registry[Any], uri: str) -> Compiled:
    """Compile the schema stored at ``uri`` in ``registry``; raises :class:`Unsupported`."""
    return _Compiler(registry).ref(uri, uri)


def locate(
    compiled: Compiled, instance: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any, str]]:
    """The smallest failing subtrees of an instance: ``(path, subinstance, schema uri)``.

    Every failure of ``instance`` lies inside one of them, and none contains another, so
    validating each with jsonschema finds every error exactly once.
    """
    while compiled.ref is not None:
        compiled = compiled.ref
    if compiled.check(instance):
        return
    if compiled.own is None or not compiled.own(instance):
        yield path, instance, compiled.uri
        return
    for key, value, sub in compiled.children(instance):
        yield from locate(sub, value, (*path, key))
