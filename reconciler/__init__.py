"""hsprefs: HubSpot email subscription statuses managed as code.

The import package is ``reconciler``; the distribution and the command are ``hsprefs``.
The public API is what ``__all__`` lists; everything else is private to the package.
"""

__version__ = "0.1.0"

from reconciler.diff import diff
from reconciler.errors import (
    ApiError,
    ApplyError,
    AuthError,
    ConfigError,
    HsprefsError,
    NotFoundError,
    PlanFileError,
    PolicyError,
    PortalMismatchError,
    RateLimitError,
    ScopeError,
    StalePlanError,
    TransportError,
    UsageError,
)
from reconciler.model import (
    Definition,
    DesiredOptOut,
    DesiredState,
    DesiredStatus,
    LiveOptOut,
    LiveState,
    LiveStatus,
    Location,
    Outcome,
    PairKey,
    Policy,
    PortalSettings,
    Status,
    StatusWrite,
    SubscriberKey,
    SubscriptionRef,
    WriteResult,
)
from reconciler.plan import Blocked, Change, ChangeKind, Plan

__all__ = [
    "ApiError",
    "ApplyError",
    "AuthError",
    "Blocked",
    "Change",
    "ChangeKind",
    "ConfigError",
    "Definition",
    "DesiredOptOut",
    "DesiredState",
    "DesiredStatus",
    "HsprefsError",
    "LiveOptOut",
    "LiveState",
    "LiveStatus",
    "Location",
    "NotFoundError",
    "Outcome",
    "PairKey",
    "Plan",
    "PlanFileError",
    "Policy",
    "PolicyError",
    "PortalMismatchError",
    "PortalSettings",
    "RateLimitError",
    "ScopeError",
    "StalePlanError",
    "Status",
    "StatusWrite",
    "SubscriberKey",
    "SubscriptionRef",
    "TransportError",
    "UsageError",
    "WriteResult",
    "__version__",
    "diff",
]
