"""Prefect's documented high-availability shape, on one machine: API servers without services, one
background-services process, PostgreSQL for state, Redis for messaging (`prefect-redis`) and Docket,
and HAProxy in front (Prefect's self-hosting guide, "How to scale self-hosted Prefect").

The sandbox stack uses it for `fluxgate demo --postgres URL --redis URL`, and the tests to kill an API
server in the middle of a release. Production runs the same settings in its own containers.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

from fluxgate.errors import SettingsError
from fluxgate.sandbox.prefect_server import migrate_command, prefect_cli, server_command

__all__ = [
    "API_SERVERS",
    "api_command",
    "ha_env",
    "haproxy_command",
    "haproxy_config",
    "migrate_command",
    "services_command",
]

API_SERVERS = 2


def ha_env(redis: str) -> dict[str, str]:
    """What every Prefect server process of the HA shape needs beyond its database: Redis messaging,
    cache, causal ordering and lease storage, Docket on Redis, and no migration at start (one
    `prefect server database upgrade` runs first)."""
    parts = urlsplit(redis)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise SettingsError(f"--redis {redis!r}: expected redis://host:port/db")
    db = parts.path.lstrip("/") or "0"
    if not db.isdigit():
        raise SettingsError(f"--redis {redis!r}: the database must be a number, e.g. redis://host:6379/0")
    env = {
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
        "PREFECT_REDIS_MESSAGING_HOST": parts.hostname,
        "PREFECT_REDIS_MESSAGING_PORT": str(parts.port or 6379),
        "PREFECT_REDIS_MESSAGING_DB": db,
        "PREFECT_SERVER_DOCKET_URL": redis,
        "PREFECT_API_DATABASE_MIGRATE_ON_START": "false",
    }
    if parts.password:
        env["PREFECT_REDIS_MESSAGING_PASSWORD"] = parts.password
    if parts.username:
        env["PREFECT_REDIS_MESSAGING_USERNAME"] = parts.username
    return env


def api_command(port: int) -> list[str]:
    return [*server_command(port), "--no-services"]


def services_command() -> list[str]:
    return prefect_cli("server", "services", "start")


def haproxy_config(port: int, servers: list[int]) -> str:
    """Round robin over the API servers, each checked on `/api/health` every second; a request whose
    connection fails is sent to another server (`redispatch`), so a dead server costs no request."""
    backends = "\n".join(
        f"    server api{n} 127.0.0.1:{p} check inter 1s fall 2 rise 1" for n, p in enumerate(servers, 1)
    )
    return f"""global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 300s
    timeout server 300s
    timeout tunnel 1h
    retries 3
    option redispatch

frontend prefect
    bind 127.0.0.1:{port}
    default_backend api

backend api
    balance roundrobin
    option httpchk GET /api/health
{backends}
"""


def haproxy_command(config: Path) -> list[str]:
    """HAProxy in the foreground (`-db`): the stack supervises it like its other processes."""
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(binary).exists():
        raise SettingsError("Prefect HA needs HAProxy in front of its API servers: apt-get install haproxy")
    return [binary, "-f", str(config), "-db"]
