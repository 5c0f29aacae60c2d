"""The production shape, end to end: Prefect in its documented HA shape (two API servers without
services behind HAProxy, one services process, PostgreSQL, Redis messaging) and the connector's store
on PostgreSQL. The whole story runs through the balancer, and one API server is killed with `kill -9`
while prod waits for its review. The release finishes through the other server: every stage run
exists once and ends as the story says, no resume is lost, every delivery is settled. What the
databases hold afterwards is read back with SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from fluxgate.connector.store import drop_database
from tests.conftest import haproxy_installed

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480), pytest.mark.xdist_group("demo-postgres")]

Played = tuple[subprocess.CompletedProcess[str], dict[str, str], Path]


@pytest.fixture(scope="module")
def played(
    postgres_server: str, redis_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Played]:
    haproxy_installed()
    data = tmp_path_factory.mktemp("demo-ha")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FLUXGATE_"))}
    fluxgate = str(Path(sys.executable).parent / "fluxgate")
    result = subprocess.run(
        [fluxgate, "demo", "--postgres", postgres_server, "--redis", redis_server, "--kill-api-server",
         "--data", str(data)],
        env=env, capture_output=True, text=True, timeout=460,
    )  # fmt: skip
    databases = {
        line.split(" on PostgreSQL: ")[0]: line.rsplit("/", 1)[1]
        for line in result.stdout.splitlines()
        if " on PostgreSQL: " in line
    }
    try:
        yield result, databases, data
    finally:
        for name in databases.values():
            drop_database(postgres_server, name)


def test_the_release_finishes_after_an_api_server_is_killed(played: Played) -> None:
    result, _databases, data = played
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert "prefect-api-1 killed (kill -9): HAProxy sends every request to prefect-api-2" in out
    assert "shop@1.0.0 is live and healthy in dev, staging, prod (jane-ops approved prod)." in out
    assert "staging is back on 1.0.0 through a reviewed rollback PR" in out
    assert (data / "prefect-services.log").exists() and (data / "prefect-api-2.log").exists()


def test_every_stage_ran_once_and_ended_as_told(postgres_server: str, played: Played) -> None:
    _result, databases, _data = played
    engine = sqlalchemy.create_engine(postgres_server.rsplit("/", 1)[0] + f"/{databases['prefect']}")
    try:
        with engine.connect() as conn:
            runs = [tuple(r) for r in conn.execute(sqlalchemy.text("SELECT name, state_type FROM flow_run"))]
    finally:
        engine.dispose()
    assert sorted(runs) == sorted([
        ("shop@1.0.0 -> dev", "COMPLETED"),
        ("shop@1.0.0 -> staging", "COMPLETED"),
        ("shop@1.0.0 -> prod", "COMPLETED"),
        ("shop@1.1.0 -> dev", "COMPLETED"),
        ("shop@1.1.0 -> staging", "FAILED"),
        ("shop@1.0.0 -> staging (rollback from 1.1.0)", "COMPLETED"),
    ])  # fmt: skip


def test_the_connector_settled_every_delivery_in_postgresql(postgres_server: str, played: Played) -> None:
    _result, databases, _data = played
    engine = sqlalchemy.create_engine(postgres_server.rsplit("/", 1)[0] + f"/{databases['connector']}")
    try:
        with engine.connect() as conn:
            query = "SELECT state, count(*) FROM deliveries GROUP BY state"
            states = {str(k): int(v) for k, v in conn.execute(sqlalchemy.text(query))}
            workers = conn.execute(sqlalchemy.text("SELECT count(*) FROM workers")).scalar_one()
    finally:
        engine.dispose()
    assert states.get("done", 0) > 20 and "pending" not in states and "failed" not in states, states
    assert workers == 1  # one replica's heartbeat: its processing process, restarted or not, beats as one
