"""Starting a local Prefect server (on SQLite, or on PostgreSQL) the way the sandbox stack and the
tests do."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["server_command", "server_env"]


def server_env(home: Path, database: str | None = None) -> dict[str, str]:
    """Offline, quiet, its database under `home` (a new one migrates in 10-15 s), or the PostgreSQL
    database `database` (any `postgresql` URL: Prefect's server talks to it through asyncpg)."""
    url = f"sqlite+aiosqlite:///{home}/prefect.db"
    if database is not None:
        scheme, sep, rest = database.partition("://")
        url = f"postgresql+asyncpg://{rest}" if sep and scheme.startswith("postgresql") else database
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_API_DATABASE_CONNECTION_URL": url,
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }


def server_command(port: int) -> list[str]:
    return [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip
