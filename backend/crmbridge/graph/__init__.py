"""Microsoft Graph access for crmbridge: one client, our own exceptions."""

from crmbridge.graph.client import (
    BATCH_LIMIT,
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
    user_path,
)

__all__ = [
    "BATCH_LIMIT",
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
    "user_path",
]
