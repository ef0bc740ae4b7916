"""One HubSpot request as a handler sees it, and the checks every handler shares.

A :class:`Invocation` carries the parsed query, path parameters and JSON body; its helpers
turn bad input into HubSpot-shaped 400s (:class:`~reconciler.emulator.wire.HubSpotError`)
so no bad request ever becomes a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import QueryParams

from reconciler.emulator.emails import is_email
from reconciler.emulator.portal import ItemError
from reconciler.emulator.recorder import PendingWrite
from reconciler.emulator.seed import is_text
from reconciler.emulator.wire import HubSpotError, item_error

if TYPE_CHECKING:
    from reconciler.emulator.instance import Emulator

__all__ = ["Invocation", "bad_request"]


def bad_request(message: str, *, field: str | None = None, **context: list[str]) -> HubSpotError:
    """A 400 ``VALIDATION_ERROR`` naming the offending field when there is one."""
    errors = [{"message": message, "in": field, "code": "INVALID"}] if field else []
    return HubSpotError(400, "VALIDATION_ERROR", message, context=context, errors=errors)


@dataclass
class Invocation:
    """The request in front of a handler. ``lie`` marks a write that must not stick."""

    emu: Emulator
    operation: str
    version: str
    query: QueryParams
    path: Mapping[str, str]
    body: Any
    started: str
    token: str = field(default="", repr=False)
    lie: bool = False
    writes: list[PendingWrite] = field(default_factory=list)

    # Results ----------------------------------------------------------------------

    def log_write(
        self,
        *,
        brand: int | None,
        input: Any,
        reason: str = "",
        error: str = "",
    ) -> None:
        """Note one write input and what became of it.

        The pipeline adds the notes to the write log once the call's answer is known
        (its HTTP status, and any fault that hit it).
        """
        outcome = "failed" if error else ("not_applied" if self.lie else "applied")
        self.writes.append(PendingWrite(brand, input, outcome, error or reason))

    def item_error(self, exc: ItemError) -> dict[str, Any]:
        """A per-input failure for ``errors[]``; context only when settings allow it."""
        context = exc.context if self.emu.settings.error_context else {}
        return item_error(exc.message, category=exc.category, context=context)

    def rejected(self, exc: ItemError) -> HubSpotError:
        """A per-input failure of a single-subscriber call: the whole request is a 400."""
        return HubSpotError(400, exc.category, exc.message, context=exc.context)

    # Query parameters -------------------------------------------------------------

    def channel(self) -> str:
        """The required ``channel`` query parameter; only EMAIL exists."""
        value = self.query.get("channel")
        if value is None:
            raise bad_request("The query parameter 'channel' is required (EMAIL)", field="channel")
        if value != "EMAIL":
            raise bad_request(
                f"Unsupported channel {value!r}: the only channel is EMAIL",
                field="channel",
                channel=[value],
            )
        return value

    def brand(self, *, default: int | None = 0) -> int | None:
        """``businessUnitId``: a brand of the portal, or ``default`` when absent."""
        raw = self.query.get("businessUnitId")
        if raw is None or raw == "":
            return default
        try:
            brand = int(raw)
        except ValueError:
            raise bad_request(
                f"businessUnitId must be a whole number, got {raw!r}", field="businessUnitId"
            ) from None
        if brand not in self.emu.portal.view.brands:
            raise bad_request(
                f"Business unit {brand} does not exist in portal "
                f"{self.emu.portal.view.seed.portal_id}",
                field="businessUnitId",
                businessUnitId=[str(brand)],
            )
        return brand

    def flag(self, name: str) -> bool:
        """A boolean query parameter (absent is false)."""
        raw = self.query.get(name)
        if raw is None or raw == "":
            return False
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise bad_request(f"{name} must be true or false, got {raw!r}", field=name)

    # Path parameters --------------------------------------------------------------

    def email_param(self, name: str) -> str:
        """A path email (already percent-decoded), normalised; 400 when invalid."""
        value = self.path.get(name, "")
        if not is_email(value):
            raise bad_request(f"Invalid email address: {value!r}", field=name, **{name: [value]})
        return value.strip().lower()

    # Bodies -----------------------------------------------------------------------

    def object_body(self) -> Mapping[str, Any]:
        """The JSON body, which must be an object."""
        if not isinstance(self.body, Mapping):
            raise bad_request("Invalid input JSON: expected an object")
        return self.body

    def inputs(self, *, of: type[Any]) -> list[Any]:
        """``inputs`` of a batch body: a list of ``of`` no longer than the batch limit."""
        body = self.object_body()
        inputs = body.get("inputs")
        if inputs is None:
            raise bad_request("The field 'inputs' is required", field="inputs")
        if not isinstance(inputs, list):
            raise bad_request("The field 'inputs' must be an array", field="inputs")
        limit = self.emu.settings.batch_limit
        if len(inputs) > limit:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Too many inputs: {len(inputs)} were sent and at most {limit} are allowed",
                context={"inputs": [str(len(inputs))], "maxInputs": [str(limit)]},
                errors=[{"message": f"at most {limit} inputs", "in": "inputs", "code": "TOO_MANY"}],
            )
        for index, item in enumerate(inputs):
            if not _is(item, of):
                raise bad_request(
                    f"inputs[{index}] must be {_type_name(of)}", field=f"inputs[{index}]"
                )
        return inputs

    def typed(
        self, obj: Mapping[str, Any], name: str, kind: type[Any], *, required: bool, where: str = ""
    ) -> Any:
        """A typed field of a body object; null counts as absent. 400 when wrong."""
        value = obj.get(name)
        label = f"{where}{name}"
        if value is None:
            if required:
                raise bad_request(f"The field '{label}' is required", field=label)
            return None
        if not _is(value, kind):
            raise bad_request(f"The field '{label}' must be {_type_name(kind)}", field=label)
        if isinstance(value, str) and not is_text(value):
            raise bad_request(f"The field '{label}' is not valid UTF-8 text", field=label)
        return value


def _is(value: Any, kind: type[Any]) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _type_name(kind: type[Any]) -> str:
    names: dict[type[Any], str] = {str: "a string", int: "an integer", dict: "an object"}
    return names.get(kind, kind.__name__)
