"""Starting a local Prefect server (on SQLite, or on PostgreSQL) the way the sandbox stack and the
tests do."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["migrate_command", "prefect_cli", "seed_database", "server_command", "server_env"]


def prefect_cli(*args: str) -> list[str]:
    """A command of the Prefect CLI installed beside this Python (the version fluxgate pins)."""
    return [str(Path(sys.executable).parent / "prefect"), *args]


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
    return prefect_cli("server", "start", "--host", "127.0.0.1", "--port", str(port))


def migrate_command() -> list[str]:
    """Brings the configured database to Prefect's current schema, then exits."""
    return prefect_cli("server", "database", "upgrade", "-y")


def _cache() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "fluxgate" / f"prefect-{metadata.version('prefect')}.db"


def seed_database(home: Path) -> None:
    """Give a new SQLite server under `home` an already-migrated database: migrating a new one costs
    every start 6-8 s of CPU (a third of the server's start), and the schema depends only on Prefect's
    version. Migrated once per version into a cache (`prefect server database upgrade`, under a lock so
    parallel starts migrate once), then copied. The server still checks its migrations at start; if
    the cache cannot be made, the server migrates its own database as before."""
    target = home / "prefect.db"
    if target.exists():
        return
    cache = _cache()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.with_suffix(".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not cache.exists():
                for left in cache.parent.glob(f"{cache.stem}.*/"):  # a migration killed half-way
                    shutil.rmtree(left, ignore_errors=True)
                scratch = cache.with_name(f"{cache.stem}.{os.getpid()}")
                scratch.mkdir()
                env = {**os.environ, **server_env(scratch)}
                subprocess.run(migrate_command(), env=env, capture_output=True, check=True, timeout=300)
                os.replace(scratch / "prefect.db", cache)
                shutil.rmtree(scratch, ignore_errors=True)
        home.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".copying")
        shutil.copyfile(cache, partial)
        os.replace(partial, target)
