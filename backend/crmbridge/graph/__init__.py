"""Everything that speaks to Microsoft Graph or acts on its answers.

``client`` (HTTP, retries, our own exceptions), ``setup`` (which client a request or command gets), ``sync``
(the internal meeting), ``linking`` (finding the sent external meeting), ``drift_watch`` (scans, notifications,
subscriptions), ``org_scope`` (each activity's tenant's domains), ``directory`` (a signed-in user's addresses) and
``commands`` (the ``crmbridge`` commands for them). The domain rules never import this package.
"""

from crmbridge.graph.client import (
    BATCH_LIMIT,
    MAILBOX_BATCH_LIMIT,
    GraphAuthError,
    GraphClient,
    GraphDeltaExpired,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphUnavailable,
    error_from_response,
    event_path,
    expand_properties,
    graph_datetime,
    odata_string,
    required_permission,
    user_path,
)

__all__ = [
    "BATCH_LIMIT",
    "MAILBOX_BATCH_LIMIT",
    "GraphAuthError",
    "GraphClient",
    "GraphDeltaExpired",
    "GraphError",
    "GraphNotFound",
    "GraphThrottled",
    "GraphUnavailable",
    "error_from_response",
    "event_path",
    "expand_properties",
    "graph_datetime",
    "odata_string",
    "required_permission",
    "user_path",
]
