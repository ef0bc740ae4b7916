"""HubSpot's OpenAPI 3.0 files as response validators, written for the conformance suite.

The specs live beside the checkout (``../shared/hubspot-openapi/<version>/subscriptions.json``,
or ``$HSPREFS_SPECS``) and are never copied into the project. This module turns them
into JSON Schema 2020-12 validators and judges one HTTP exchange at a time:

- the operation is found by method and path template (literal paths before templated
  ones, as a router does); the status code picks the response (exact, ``2XX`` range,
  then ``default``); the content type must be one the response declares (``*/*``
  matches any); a JSON body must validate against the declared schema;
- an answer on a path no operation of the spec describes (404, 405, account-info
  errors) must still be an error in the spec's ``Error`` shape;
- HubSpot sends ``null`` for absent optional fields although the spec types them, so a
  null object member counts as absent (a null *required* member still fails);
- OpenAPI 3.0 keywords are translated: ``nullable``, ``$ref`` to components, boolean
  ``exclusiveMinimum``/``exclusiveMaximum``; annotation noise (``example: null``,
  descriptions) is dropped; ``format`` is checked for ``date-time``, ``uuid``,
  ``int32`` and ``int64`` and ignored for formats it does not know.

Imports the standard library and jsonschema only; it knows nothing of the emulator.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import jsonschema

__all__ = [
    "ERRATA",
    "ERROR_SHAPE_VERSION",
    "SPEC_VERSIONS",
    "Exchange",
    "Operation",
    "Spec",
    "Verdict",
    "format_checker",
    "judge",
    "load_spec",
    "specs_dir",
    "strip_nulls",
    "to_json_schema",
]

# The versions whose paths the emulator serves and whose spec files are checked.
SPEC_VERSIONS = ("2026-03", "v4", "2026-09", "v3")
# Whose ``Error`` component judges errors on paths that belong to no spec.
ERROR_SHAPE_VERSION = "2026-03"

_PREFIX = "/communication-preferences/"
# Annotations that carry no constraint; ``example: null`` is everywhere in these files.
_ANNOTATIONS = frozenset(
    {"description", "example", "externalDocs", "xml", "discriminator", "deprecated", "title"}
)
_SCHEMA_KEYS_OF_SCHEMAS = ("properties", "patternProperties", "$defs", "definitions")
_SCHEMA_KEYS_OF_SCHEMA = ("items", "additionalProperties", "not", "propertyNames")
_SCHEMA_KEYS_OF_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")
_INT_RANGES = {"int32": 2**31, "int64": 2**63}

# Where a spec contradicts itself, the reading the suite takes (docs/emulator.md,
# "Conformance"). 2025-09 and 2026-09 type the translation timestamps as int32, but
# their descriptions call them timestamps, v3, v4 and 2026-03 type the same fields
# int64, and epoch milliseconds have not fitted in 32 bits since 25 January 1970.
ERRATA: Mapping[tuple[str, str, str], Mapping[str, Any]] = {
    (version, "PublicSubscriptionTranslation", name): {"format": "int64"}
    for version in ("2025-09", "2026-09")
    for name in ("createdAt", "updatedAt")
}


def specs_dir() -> Path:
    """Where the specs are expected: ``$HSPREFS_SPECS`` or ``../shared/hubspot-openapi``."""
    override = os.environ.get("HSPREFS_SPECS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "shared" / "hubspot-openapi"


# --- OpenAPI 3.0 schema -> JSON Schema 2020-12 ---------------------------------------


def to_json_schema(node: Any) -> Any:
    """Translate one OpenAPI 3.0 schema object (recursively) into JSON Schema 2020-12.

    ``#/components/schemas/X`` becomes ``#/$defs/X``; the caller puts the translated
    components under ``$defs`` of the root.
    """
    if not isinstance(node, Mapping):
        return node
    if "$ref" in node:
        ref = str(node["$ref"])
        target = {"$ref": ref.replace("#/components/schemas/", "#/$defs/", 1)}
        # OpenAPI 3.0 ignores siblings of $ref except that tools honour ``nullable``.
        if node.get("nullable") is True:
            return {"anyOf": [target, {"type": "null"}]}
        return target
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ANNOTATIONS or key == "nullable":
            continue
        if key in _SCHEMA_KEYS_OF_SCHEMAS and isinstance(value, Mapping):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_KEYS_OF_SCHEMA and isinstance(value, Mapping):
            out[key] = to_json_schema(value)
        elif key in _SCHEMA_KEYS_OF_LISTS and isinstance(value, list):
            out[key] = [to_json_schema(sub) for sub in value]
        else:
            out[key] = value
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        # OpenAPI 3.0 (like draft 4) writes these as booleans next to minimum/maximum.
        flag = out.get(bound)
        if isinstance(flag, bool):
            del out[bound]
            if flag and limit in out:
                out[bound] = out.pop(limit)
    if node.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def strip_nulls(value: Any) -> Any:
    """The instance with every null object member removed (null counts as absent)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def _date_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    if not _RFC3339.match(instance):
        return False
    text = instance[:-1] + "+00:00" if instance[-1] in "Zz" else instance
    try:
        datetime.fromisoformat(text.replace("t", "T"))
    except ValueError:
        return False
    return True


def _uuid(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    try:
        UUID(instance)
    except ValueError:
        return False
    return all(instance[i] == "-" for i in (8, 13, 18, 23)) and len(instance) == 36


def _int_format(bits: str) -> Any:
    half = _INT_RANGES[bits]

    def check(instance: object) -> bool:
        if isinstance(instance, bool) or not isinstance(instance, int):
            return True
        return -half <= instance < half

    return check


def format_checker() -> jsonschema.FormatChecker:
    """Checks ``date-time``, ``uuid``, ``int32`` and ``int64``; other formats pass."""
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(_date_time)
    checker.checks("uuid")(_uuid)
    for bits in _INT_RANGES:
        checker.checks(bits)(_int_format(bits))
    return checker


# --- the spec of one version -----------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One operation of a spec: method, path template and its responses (refs resolved)."""

    method: str
    template: str
    pattern: re.Pattern[str]
    responses: Mapping[str, Mapping[str, Any]]

    @property
    def label(self) -> str:
        """``METHOD /path/{template}``."""
        return f"{self.method} {self.template}"

    def response_for(self, status: int) -> tuple[str, Mapping[str, Any]] | None:
        """The response key and object a status code selects, or None when undeclared."""
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in self.responses:
                return key, self.responses[key]
        return None


class Spec:
    """One version's spec file, with a validator per schema it uses."""

    def __init__(self, version: str, document: Mapping[str, Any]) -> None:
        self.version = version
        self.document = document
        schemas = document.get("components", {}).get("schemas", {})
        self._defs = {name: to_json_schema(schema) for name, schema in schemas.items()}
        for (where, schema_name, prop), patch in ERRATA.items():
            props = self._defs.get(schema_name, {}).get("properties", {})
            if where == version and prop in props:
                props[prop] = {**props[prop], **patch}
        self._validators: dict[str, jsonschema.protocols.Validator] = {}
        self.operations = list(self._operations())

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/components/responses/"):
            return node
        return self._resolve(self.document["components"]["responses"][ref.rsplit("/", 1)[1]])

    def _operations(self) -> Iterator[Operation]:
        found: list[Operation] = []
        for template, methods in self.document.get("paths", {}).items():
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            for method, op in methods.items():
                if not isinstance(op, Mapping) or "responses" not in op:
                    continue
                responses = {str(k): self._resolve(v) for k, v in op["responses"].items()}
                found.append(
                    Operation(method.upper(), template, re.compile(f"^{regex}$"), responses)
                )
        # Literal paths (statuses/batch/read) win over templated ones ({subscriberIdString}).
        found.sort(key=lambda op: (op.template.count("{"), op.template))
        yield from found

    def find(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method path``, or None."""
        for op in self.operations:
            if op.method == method.upper() and op.pattern.match(path):
                return op
        return None

    def error_response(self) -> Mapping[str, Any]:
        """The spec's shared error response (``components/responses/Error``)."""
        return self.document["components"]["responses"]["Error"]

    def validator(self, schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
        """A validator for a response schema of this spec (cached per schema)."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            if not self._validators:
                # A translation mistake should fail loudly, not validate everything.
                jsonschema.Draft202012Validator.check_schema({"$defs": self._defs})
            converted = to_json_schema(schema)
            jsonschema.Draft202012Validator.check_schema(converted)
            self._validators[key] = jsonschema.Draft202012Validator(
                {**converted, "$defs": self._defs}, format_checker=format_checker()
            )
        return self._validators[key]


@cache
def load_spec(version: str) -> Spec:
    """The spec of one version from :func:`specs_dir` (raises OSError when absent)."""
    path = specs_dir() / version / "subscriptions.json"
    return Spec(version, json.loads(path.read_text(encoding="utf-8")))


# --- judging one exchange --------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One request the emulator answered, as a client on the wire saw it."""

    method: str
    path: str
    query: str
    status: int
    content_type: str
    body: bytes
    complete: bool = True

    @property
    def label(self) -> str:
        query = f"?{self.query}" if self.query else ""
        return f"{self.method} {self.path}{query} -> {self.status}"


@dataclass
class Verdict:
    """What the specs say about one exchange.

    ``kind``: ``operation`` (judged against its operation), ``error-shape`` (no
    operation; judged as an ``Error``), ``no-operation`` (a success where the version's
    spec has no operation: always a problem), ``admin`` (the emulator's own surface, not
    HubSpot's), ``unspecified`` (a success on a path none of the specs describes),
    ``gateway`` (an HTML 502/504 page, the fault issue #4 asks for, which stands for
    the proxy in front of HubSpot), or ``dropped`` (no complete answer was sent).
    """

    exchange: Exchange
    kind: str
    operation: str | None = None
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One paragraph naming the exchange, what judged it and every problem."""
        where = f" [{self.operation}]" if self.operation else ""
        lines = [f"{self.exchange.label}{where}:"]
        lines.extend(f"  - {p}" for p in self.problems)
        return "\n".join(lines)


def _media(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _pick_media(declared: Mapping[str, Any], actual: str) -> Mapping[str, Any] | None:
    media = _media(actual)
    main = media.split("/", 1)[0]
    for key in (media, f"{main}/*", "*/*"):
        for name, value in declared.items():
            if name.lower() == key:
                return value if isinstance(value, Mapping) else {}
    return None


def _check_body(
    spec: Spec, response: Mapping[str, Any], exchange: Exchange, problems: list[str]
) -> None:
    declared = response.get("content") or {}
    if not declared:
        if exchange.body:
            problems.append("the response declares no content but a body was sent")
        return
    media = _pick_media(declared, exchange.content_type)
    if media is None:
        problems.append(f"content type {exchange.content_type!r} is not one of {sorted(declared)}")
        return
    schema = media.get("schema")
    if not isinstance(schema, Mapping):
        return
    try:
        body = json.loads(exchange.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"the body is not JSON ({exc})")
        return
    validator = spec.validator(schema)
    for error in sorted(validator.iter_errors(strip_nulls(body)), key=lambda e: e.path):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{where}: {error.message}")


def _version_of(path: str) -> str | None:
    if not path.startswith(_PREFIX):
        return None
    return path[len(_PREFIX) :].split("/", 1)[0]


def judge(exchange: Exchange, specs: Mapping[str, Spec]) -> Verdict:
    """Judge one exchange against the spec of its path's version (``specs`` by version)."""
    if exchange.path.startswith("/_emulator"):
        return Verdict(exchange, "admin")
    if not exchange.complete:
        return Verdict(exchange, "dropped")
    if exchange.status in (502, 504) and _media(exchange.content_type) == "text/html":
        return Verdict(exchange, "gateway")
    version = _version_of(exchange.path)
    spec = specs.get(version or "")
    op = spec.find(exchange.method, exchange.path) if spec is not None else None
    if spec is not None and op is not None:
        verdict = Verdict(exchange, "operation", op.label)
        chosen = op.response_for(exchange.status)
        if chosen is None:
            verdict.problems.append(
                f"status {exchange.status} is not declared (declared: {sorted(op.responses)})"
            )
            return verdict
        key, response = chosen
        verdict.operation = f"{op.label} {key}"
        _check_body(spec, response, exchange, verdict.problems)
        return verdict
    if exchange.status < 400:
        if spec is not None:
            return Verdict(
                exchange,
                "no-operation",
                None,
                [f"a {exchange.status} on a path and method the {version} spec does not have"],
            )
        return Verdict(exchange, "unspecified")
    # No operation answers this: it must at least be an error in HubSpot's shape.
    shape = spec if spec is not None else specs[ERROR_SHAPE_VERSION]
    verdict = Verdict(exchange, "error-shape", f"{shape.version} Error")
    _check_body(shape, shape.error_response(), exchange, verdict.problems)
    return verdict
