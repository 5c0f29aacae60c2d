"""The whole story (a review, a Flux failure, a rollback) with the Prefect server and the connector's
store on PostgreSQL, as in production: `fluxgate demo --postgres URL`. What the databases hold after
it is read back with SQL: the stage runs in Prefect's, every delivery settled in the connector's."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420), pytest.mark.xdist_group("demo-postgres")]


Played = tuple[subprocess.CompletedProcess[str], dict[str, str]]


@pytest.fixture(scope="module")
def played(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    data = tmp_path_factory.mktemp("demo-postgres")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FLUXGATE_"))}
    fluxgate = str(Path(sys.executable).parent / "fluxgate")
    result = subprocess.run(
        [fluxgate, "demo", "--postgres", postgres_server, "--data", str(data)],
        env=env, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    databases = {
        line.split(" on PostgreSQL: ")[0]: line.rsplit("/", 1)[1]
        for line in result.stdout.splitlines()
        if " on PostgreSQL: " in line
    }
    try:
        yield result, databases
    finally:
        admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in databases.values():
                conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _rows(server: str, database: str, query: str) -> list[tuple[object, ...]]:
    engine = sqlalchemy.create_engine(server.rsplit("/", 1)[0] + f"/{database}")
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sqlalchemy.text(query))]
    finally:
        engine.dispose()


def test_the_story_ends_as_told_on_postgresql(played: Played) -> None:
    result, databases = played
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    assert sorted(databases) == ["connector", "prefect"], out[-3000:]
    assert "shop@1.0.0 is live and healthy in dev, staging, prod (jane-ops approved prod)." in out
    assert "staging is back on 1.0.0 through a reviewed rollback PR" in out
    assert "Traceback" not in out + result.stderr


def test_prefect_kept_every_stage_run_in_postgresql(postgres_server: str, played: Played) -> None:
    _result, databases = played
    runs = dict(_rows(postgres_server, databases["prefect"], "SELECT name, state_type FROM flow_run"))
    assert runs == {
        "shop@1.0.0 -> dev": "COMPLETED",
        "shop@1.0.0 -> staging": "COMPLETED",
        "shop@1.0.0 -> prod": "COMPLETED",
        "shop@1.1.0 -> dev": "COMPLETED",
        "shop@1.1.0 -> staging": "FAILED",
        "shop@1.0.0 -> staging (rollback from 1.1.0)": "COMPLETED",
    }


def test_the_connector_settled_every_delivery_in_postgresql(postgres_server: str, played: Played) -> None:
    _result, databases = played
    query = "SELECT state, count(*) FROM deliveries GROUP BY state"
    states = dict(_rows(postgres_server, databases["connector"], query))
    assert states.get("done", 0) > 20 and "pending" not in states and "failed" not in states, states
    assert _rows(postgres_server, databases["connector"], "SELECT count(*) FROM workers") == [(1,)]
