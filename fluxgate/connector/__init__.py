"""The connector: Flux notification events and GitHub webhooks in; commit statuses, Deployment statuses
and (with the Prefect layer) resumes of waiting stages out.

`Connector(ConnectorSettings())` wires one process; `fluxgate connector` serves it. The parsing
modules (`flux_events`, `github_events`, `signatures`) are pure and usable on their own.
"""

from fluxgate.connector.errors import EventRejected
from fluxgate.connector.service import Connector
from fluxgate.connector.settings import ConnectorSettings

__all__ = ["Connector", "ConnectorSettings", "EventRejected"]
