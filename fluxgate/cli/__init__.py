"""The `fluxgate` command line."""

from fluxgate.cli import ci as _ci  # noqa: F401  (registers `fluxgate ci`)
from fluxgate.cli import connector as _connector  # noqa: F401  (registers `fluxgate connector`)
from fluxgate.cli import demo as _demo  # noqa: F401  (registers `fluxgate demo`)
from fluxgate.cli import rollback as _rollback  # noqa: F401  (registers rollback, release-hold)
from fluxgate.cli import sandbox as _sandbox  # noqa: F401  (registers `fluxgate sandbox`)
from fluxgate.cli import stage as _stage  # noqa: F401  (registers deploy, promote, status, serve)
from fluxgate.cli.app import app, main

__all__ = ["app", "main"]
