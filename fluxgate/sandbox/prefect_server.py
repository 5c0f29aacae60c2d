"""Starting a local Prefect server (SQLite) the way the sandbox stack and the tests do."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["server_command", "server_env"]


def server_env(home: Path) -> dict[str, str]:
    """Offline, quiet, its database under `home` (a new one migrates in 10-15 s)."""
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home}/prefect.db",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }


def server_command(port: int) -> list[str]:
    return [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip
