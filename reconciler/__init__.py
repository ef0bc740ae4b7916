"""hsprefs: HubSpot email subscription statuses managed as code.

The import package is ``reconciler``; the distribution and the command are ``hsprefs``.
The public API is what ``__all__`` lists; everything else is private to the package.
"""

from reconciler.errors import (
    ApiError,
    AuthError,
    ConfigError,
    HsprefsError,
    PlanFileError,
    PolicyError,
    PortalMismatchError,
    RateLimitError,
    ScopeError,
    StalePlanError,
    TransportError,
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
    PairKey,
    Policy,
    PortalSettings,
    Status,
    SubscriberKey,
    SubscriptionRef,
)

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AuthError",
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
    "PairKey",
    "PlanFileError",
    "Policy",
    "PolicyError",
    "PortalMismatchError",
    "PortalSettings",
    "RateLimitError",
    "ScopeError",
    "StalePlanError",
    "Status",
    "SubscriberKey",
    "SubscriptionRef",
    "TransportError",
    "__version__",
]
