"""The suite's own judge: OpenAPI 3.0 translation, null handling, formats, and verdicts.

These run without HubSpot's files (a small spec written here stands in), so a judge
that lets everything through cannot hide behind a green conformance run.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from reconciler.emulator import DroppedConnection

from .harness import Bench, InProcessClient
from .openapi import (
    ERRATA,
    Exchange,
    Spec,
    format_checker,
    judge,
    strip_nulls,
    to_json_schema,
)

JSON = "application/json;charset=utf-8"
P = "/communication-preferences/t1"

_THING = {
    "required": ["id", "state"],
    "type": "object",
    "properties": {
        "id": {"type": "integer", "format": "int32", "example": None},
        "state": {"type": "string", "enum": ["ON", "OFF"], "description": "noise"},
        "note": {"type": "string", "example": None},
        "at": {"type": "string", "format": "date-time"},
    },
    "example": None,
}
_ERROR = {
    "required": ["category", "correlationId", "message"],
    "type": "object",
    "properties": {
        "category": {"type": "string"},
        "correlationId": {"type": "string", "format": "uuid"},
        "message": {"type": "string"},
    },
}
_OK = {
    "description": "",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
}
_DEFAULT = {"description": "", "$ref": "#/components/responses/Error"}
MINI: dict[str, Any] = {
    "openapi": "3.0.1",
    "paths": {
        f"{P}/things/{{thingId}}": {"get": {"responses": {"200": _OK, "default": _DEFAULT}}},
        f"{P}/things/batch": {"get": {"responses": {"207": _OK}}},
    },
    "components": {
        "schemas": {"Thing": _THING, "Error": _ERROR},
        "responses": {
            "Error": {"content": {"*/*": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        },
    },
}
SPECS = {"t1": Spec("t1", MINI), "2026-03": Spec("2026-03", MINI)}
ERROR_BODY = {
    "category": "X",
    "correlationId": "0b6c7a56-2f0e-4a5c-9a57-1f1a3f6f6c2d",
    "message": "m",
}


def _exchange(
    path: str, status: int, body: Any, *, method: str = "GET", content_type: str = JSON
) -> Exchange:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Exchange(method, path, "", status, content_type, raw)


def _problems(path: str, status: int, body: Any, **kwargs: Any) -> list[str]:
    return judge(_exchange(path, status, body, **kwargs), SPECS).problems


# --- translation -------------------------------------------------------------------------


def test_nullable_type_admits_null() -> None:
    """nullable: true adds "null" to the type and None to an enum."""
    converted = to_json_schema({"type": "string", "enum": ["A"], "nullable": True})
    assert converted == {"type": ["string", "null"], "enum": ["A", None]}


def test_refs_point_into_defs() -> None:
    """A component $ref becomes a $defs ref; a nullable one also admits null."""
    assert to_json_schema({"$ref": "#/components/schemas/Thing"}) == {"$ref": "#/$defs/Thing"}
    assert to_json_schema({"$ref": "#/components/schemas/Thing", "nullable": True}) == {
        "anyOf": [{"$ref": "#/$defs/Thing"}, {"type": "null"}]
    }


def test_boolean_exclusive_bounds_become_numbers() -> None:
    """OpenAPI 3.0's boolean exclusiveMinimum turns into 2020-12's numeric one."""
    converted = to_json_schema(
        {"type": "integer", "minimum": 0, "exclusiveMinimum": True, "exclusiveMaximum": False}
    )
    assert converted == {"type": "integer", "exclusiveMinimum": 0}


def test_annotation_noise_is_dropped_recursively() -> None:
    """example: null and descriptions disappear at every depth."""
    converted = to_json_schema({"type": "array", "example": None, "items": _THING})
    assert "example" not in converted
    assert "example" not in converted["items"]
    assert "description" not in converted["items"]["properties"]["state"]


def test_null_members_count_as_absent() -> None:
    """strip_nulls drops null object members at every depth, but not nulls in arrays."""
    assert strip_nulls({"a": None, "b": {"c": None, "d": 1}, "e": [None, {"f": None}]}) == {
        "b": {"d": 1},
        "e": [None, {}],
    }


@pytest.mark.parametrize(
    ("value", "fmt", "ok"),
    [
        ("2026-03-01T10:00:00.000Z", "date-time", True),
        ("2026-03-01T10:00:00+02:00", "date-time", True),
        ("2026-03-01 10:00:00", "date-time", False),
        ("2026-02-30T10:00:00Z", "date-time", False),
        ("0b6c7a56-2f0e-4a5c-9a57-1f1a3f6f6c2d", "uuid", True),
        ("0b6c7a562f0e4a5c9a571f1a3f6f6c2d", "uuid", False),
        (2**31 - 1, "int32", True),
        (2**31, "int32", False),
        (-(2**63), "int64", True),
        (2**63, "int64", False),
        ("anything", "made-up-format", True),
    ],
)
def test_formats(value: object, fmt: str, ok: bool) -> None:
    """date-time, uuid, int32 and int64 are checked; unknown formats pass."""
    assert format_checker().conforms(value, fmt) is ok


# --- verdicts ----------------------------------------------------------------------------


def test_conforming_answer_has_no_problem() -> None:
    """A body that matches its operation's schema passes, nulls for optional fields included."""
    body = {"id": 7, "state": "ON", "note": None, "at": "2026-03-01T10:00:00.000Z"}
    verdict = judge(_exchange(f"{P}/things/7", 200, body), SPECS)
    assert (verdict.kind, verdict.operation, verdict.problems) == (
        "operation",
        f"GET {P}/things/{{thingId}} 200",
        [],
    )


def test_wrong_enum_value_is_a_problem() -> None:
    """A value outside the enum is reported with its place in the body."""
    assert _problems(f"{P}/things/7", 200, {"id": 7, "state": "MAYBE"}) == [
        "state: 'MAYBE' is not one of ['ON', 'OFF']"
    ]


def test_null_required_field_is_a_problem() -> None:
    """null counts as absent, so a null required field is missing."""
    assert _problems(f"{P}/things/7", 200, {"id": 7, "state": None}) == [
        "(root): 'state' is a required property"
    ]


def test_bad_format_is_a_problem() -> None:
    """A date-time that is not RFC 3339 is reported."""
    body = {"id": 7, "state": "ON", "at": "yesterday"}
    assert _problems(f"{P}/things/7", 200, body) == ["at: 'yesterday' is not a 'date-time'"]


def test_errors_are_judged_by_the_default_response() -> None:
    """A 4xx falls to the default response: the Error shape."""
    assert _problems(f"{P}/things/7", 404, ERROR_BODY) == []
    assert _problems(f"{P}/things/7", 404, {"message": "m"}) == [
        "(root): 'category' is a required property",
        "(root): 'correlationId' is a required property",
    ]


def test_undeclared_status_is_a_problem() -> None:
    """Without a default, a status the operation does not list is reported."""
    assert _problems(f"{P}/things/batch", 200, {"id": 1, "state": "ON"}) == [
        "status 200 is not declared (declared: ['207'])"
    ]


def test_literal_path_wins_over_template() -> None:
    """things/batch is its own operation, not things/{thingId}."""
    verdict = judge(_exchange(f"{P}/things/batch", 207, {"id": 1, "state": "ON"}), SPECS)
    assert verdict.operation == f"GET {P}/things/batch 207"


def test_undeclared_content_type_is_a_problem() -> None:
    """A success in a content type the response does not declare is reported."""
    problems = _problems(f"{P}/things/7", 200, b"id=7", content_type="text/plain")
    assert problems == ["content type 'text/plain' is not one of ['application/json']"]


def test_body_that_is_not_json_is_a_problem() -> None:
    """A JSON response whose body does not parse is reported."""
    (problem,) = _problems(f"{P}/things/7", 200, b"{oops")
    assert problem.startswith("the body is not JSON")


def test_error_without_operation_must_have_error_shape() -> None:
    """An answer on a path no operation has is judged as an Error."""
    verdict = judge(_exchange(f"{P}/nothing", 404, {"oops": True}), SPECS)
    assert verdict.kind == "error-shape"
    assert len(verdict.problems) == 3


def test_success_without_operation_is_a_problem() -> None:
    """A 200 on a path of a spec version that has no such operation is reported."""
    assert _problems(f"{P}/nothing", 200, {}) == [
        "a 200 on a path and method the t1 spec does not have"
    ]


def test_html_gateway_pages_are_set_apart_but_html_500_is_not() -> None:
    """Only 502/504 HTML pages are gateway answers; any other HTML error is judged."""
    page = b"<html>Bad Gateway</html>"
    assert judge(_exchange(f"{P}/things/7", 502, page, content_type="text/html"), SPECS).kind == (
        "gateway"
    )
    (problem,) = _problems(f"{P}/things/7", 500, page, content_type="text/html")
    assert problem.startswith("the body is not JSON")


def test_admin_and_foreign_paths() -> None:
    """The emulator's admin surface is not HubSpot's; unknown successes are unspecified."""
    assert judge(_exchange("/_emulator/info", 200, {}), SPECS).kind == "admin"
    assert judge(_exchange("/account-info/v3/details", 200, {}), SPECS).kind == "unspecified"
    assert judge(_exchange("/account-info/v3/details", 401, {}), SPECS).problems != []


def test_errata_read_translation_timestamps_as_int64() -> None:
    """Only the translation timestamps of 2025-09/2026-09 are read as int64."""
    assert sorted(ERRATA) == [
        ("2025-09", "PublicSubscriptionTranslation", "createdAt"),
        ("2025-09", "PublicSubscriptionTranslation", "updatedAt"),
        ("2026-09", "PublicSubscriptionTranslation", "createdAt"),
        ("2026-09", "PublicSubscriptionTranslation", "updatedAt"),
    ]
    translation = {
        "type": "object",
        "properties": {
            "createdAt": {"type": "integer", "format": "int32"},
            "subscriptionId": {"type": "integer", "format": "int32"},
        },
    }
    doc = {
        **MINI,
        "components": {
            **MINI["components"],
            "schemas": {"PublicSubscriptionTranslation": translation},
        },
    }
    validator = Spec("2026-09", doc).validator(
        {"$ref": "#/components/schemas/PublicSubscriptionTranslation"}
    )
    assert validator.is_valid({"createdAt": 1706774400000, "subscriptionId": 1})
    assert not validator.is_valid({"createdAt": 1, "subscriptionId": 2**40})


# --- the recorder ------------------------------------------------------------------------


def test_recorder_keeps_the_answer_as_sent() -> None:
    """The recorder holds status, content type and the exact body bytes."""
    bench = Bench()
    api = bench.api("2026-03")
    answer = api.get("/definitions")
    bench.close()
    (exchange,) = bench.exchanges
    assert (exchange.method, exchange.path, exchange.status) == (
        "GET",
        "/communication-preferences/2026-03/definitions",
        200,
    )
    assert exchange.content_type == answer.headers["content-type"]
    assert exchange.body == answer.content
    assert exchange.complete


def test_recorder_marks_a_dropped_answer_incomplete() -> None:
    """A connection dropped mid-answer is recorded as incomplete and judged as dropped."""
    bench = Bench()
    client = InProcessClient(bench.app())
    client.post("/_emulator/faults", json={"kind": "drop", "operation": "definitions"})
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        client.get(
            "/communication-preferences/2026-03/definitions",
            headers={"Authorization": "Bearer hsprefs-emulator-token"},
        )
    client.close()
    assert isinstance(caught.value, DroppedConnection)
    dropped = bench.exchanges[-1]
    assert (dropped.status, dropped.complete) == (200, False)
    assert judge(dropped, SPECS).kind == "dropped"
