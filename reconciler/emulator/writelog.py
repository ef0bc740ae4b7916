"""The write log's view of a call that never reached its handler, or was refused whole.

A write call refused as a whole (no or a wrong token, missing scopes, the rate limit,
an early injected fault, a body that is not JSON, too many inputs, a wrong type) still
carried inputs, and a test may need to see them: what a client re-sent after a 500 is
exactly what it sent the first time. :func:`received_inputs` reads them from the raw
request the way the operation's handler would have: one entry per element of
``inputs`` for the batch calls, the path's subscriber for the single calls, the body for
v3; when the body is not in the expected shape, the body as received.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.portal import PortalView
from reconciler.emulator.recorder import PendingWrite
from reconciler.emulator.wire import Reply

__all__ = ["received_inputs", "unhandled_writes"]

_BATCH = frozenset({"statuses.batch.write", "statuses.batch.unsubscribe_all"})
# Operations whose brand is the businessUnitId query parameter (0 when absent).
_QUERY_BRAND = frozenset({"statuses.batch.unsubscribe_all", "statuses.unsubscribe_all"})


def _parse(raw: bytes) -> Any:
    """The body as JSON when it is JSON, else as text (None when empty)."""
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return text


def _query_brand(query: Mapping[str, str]) -> int | None:
    raw = query.get("businessUnitId")
    if raw is None or raw == "":
        return 0
    try:
        return int(raw)
    except ValueError:
        return None


def _definition_brand(item: Any, view: PortalView) -> int | None:
    if not isinstance(item, Mapping):
        return None
    sub_id = item.get("subscriptionId")
    if isinstance(sub_id, bool) or not isinstance(sub_id, int | str):
        return None
    known = view.definitions.get(str(sub_id))
    return known.brand if known is not None else None


def received_inputs(
    operation: str,
    raw: bytes,
    path: Mapping[str, str],
    query: Mapping[str, str],
    view: PortalView,
    *,
    detail: str,
) -> list[PendingWrite]:
    """The write inputs of a call refused as a whole, each marked "refused"."""
    body = _parse(raw)

    def brand_of(item: Any) -> int | None:
        if operation in _QUERY_BRAND:
            return _query_brand(query)
        return _definition_brand(item, view)

    items: list[Any]
    if operation in _BATCH and isinstance(body, dict) and isinstance(body.get("inputs"), list):
        items = body["inputs"]
    elif operation == "statuses.unsubscribe_all":
        items = [path.get("subscriberIdString", "")]
    elif operation == "statuses.write":
        subscriber = {"subscriberIdString": path.get("subscriberIdString", "")}
        items = [{**subscriber, **body} if isinstance(body, dict) else {**subscriber, "body": body}]
    else:
        items = [body]
    return [PendingWrite(brand_of(item), item, "refused", detail) for item in items]


def unhandled_writes(
    operation: str,
    reply: Reply,
    noted: list[PendingWrite],
    *,
    raw: bytes,
    path: Mapping[str, str],
    query: Mapping[str, str],
    view: PortalView,
) -> list[PendingWrite]:
    """The log entries of a write call that did not run to the end of its handler.

    Inputs the handler refused on their own before the call failed keep their notes
    (anything else it noted did not stick: its transaction was rolled back); with no
    notes, every input the request carried is logged as refused, with the answer's
    message as the detail.
    """
    detail = (
        str(reply.body.get("message", ""))
        if isinstance(reply.body, dict)
        else f"HTTP {reply.status} ({reply.content_type})"
    )
    if noted:
        return [
            w if w.outcome == "failed" else PendingWrite(w.brand, w.input, "refused", detail)
            for w in noted
        ]
    return received_inputs(operation, raw, path, query, view, detail=detail)
