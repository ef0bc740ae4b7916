"""hsprefs's own recent calls to a portal, kept between runs for ``doctor``.

HubSpot's ``X-HubSpot-RateLimit-Remaining`` counts every call of the private app in the
current window. A client knows its own calls; the calls of the command run a moment
before it (``hsprefs plan`` then ``hsprefs doctor`` in one CI job, or doctor twice) are
hsprefs's too, not other traffic. Each run that talks to a portal notes when its calls'
answers came, in a small file per portal and API address beside the portal locks
(:func:`reconciler.lock.lock_folder`); doctor reads it back to leave them out of "other
traffic on this app".

The file holds times only (no address, no token) and only the last minute's; a run that
cannot read or write it carries on without it (doctor may then count an earlier run's
calls as other traffic, as before).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from reconciler.lock import lock_folder

__all__ = ["KEEP_SECONDS", "earlier_calls", "note_calls"]

#: How long a call is remembered: longer than any rate window HubSpot uses (10 s).
KEEP_SECONDS = 60.0
# At most this many times are kept (a large apply makes thousands of calls a minute).
_MOST = 5000


def _file(portal_id: int, api_url: str) -> Path:
    where = hashlib.sha256(api_url.encode("utf-8")).hexdigest()[:12]
    return lock_folder() / f"traffic-{portal_id}-{where}.json"


def _read(path: Path) -> list[float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    times = data.get("answered") if isinstance(data, dict) else None
    if not isinstance(times, list):
        return []
    return [float(t) for t in times if isinstance(t, int | float) and not isinstance(t, bool)]


def note_calls(portal_id: int, api_url: str, ages: Sequence[float]) -> None:
    """Remember calls of this run whose answers came ``ages`` seconds ago."""
    if not ages:
        return
    now = time.time()
    path = _file(portal_id, api_url)
    kept = [t for t in _read(path) if now - t <= KEEP_SECONDS]
    kept += [now - age for age in ages if age <= KEEP_SECONDS]
    kept = sorted(kept)[-_MOST:]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        spare = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        spare.write_text(json.dumps({"answered": kept}), encoding="utf-8")
        os.replace(spare, path)
    except OSError:
        return


def earlier_calls(portal_id: int, api_url: str) -> list[float]:
    """How many seconds ago earlier runs' calls to this portal were answered."""
    now = time.time()
    return sorted(now - t for t in _read(_file(portal_id, api_url)) if 0 <= now - t <= KEEP_SECONDS)
