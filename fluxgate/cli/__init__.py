"""The `fluxgate` command line."""

from fluxgate.cli import ci as _ci  # noqa: F401  (registers `fluxgate ci`)
from fluxgate.cli import connector as _connector  # noqa: F401  (registers `fluxgate connector`)
from fluxgate.cli import rollback as _rollback  # noqa: F401  (registers rollback, release-hold)
from fluxgate.cli import stage as _stage  # noqa: F401  (registers deploy, promote, status, serve)
from fluxgate.cli.app import app, main, user_errors

try:  # `demo` and `sandbox github`: not in the production image, which ships without the sandbox
    from fluxgate.sandbox.cli import register as _register_sandbox
except ModuleNotFoundError as missing:
    if missing.name not in ("fluxgate.sandbox", "fluxgate.sandbox.cli"):
        raise
else:
    _register_sandbox(app, user_errors)

__all__ = ["app", "main"]
