"""The connector: Flux notification events and GitHub webhooks in; commit statuses, Deployment statuses
and (with the Prefect layer) resumes of waiting stages out.

`Connector(ConnectorSettings())` wires one process; `fluxgate connector` serves it. The parsing
modules (`flux_events`, `github_events`, `signatures`) are pure and usable on their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fluxgate.connector.errors import EventRejected
from fluxgate.connector.settings import ConnectorSettings

if TYPE_CHECKING:
    from fluxgate.connector.service import Connector

__all__ = ["Connector", "ConnectorSettings", "EventRejected"]


def __getattr__(name: str) -> Any:
    """`Connector` is imported when first used: `fluxgate connector` reads its settings and starts
    the processing side's fork server before it imports the HTTP side (see `supervisor`)."""
    if name == "Connector":
        from fluxgate.connector.service import Connector

        return Connector
    raise AttributeError(name)
