"""A green CI run on main in the code repo starts the release's first stage: the connector hears
GitHub's `workflow_run` webhook and creates the dev stage run in Prefect, once."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.pipeline.conftest import Stage
from tests.unit.test_github_webhooks_become_facts import example

SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"


def _runs(version: str) -> list[Any]:
    from fluxgate.prefect_api import connect
    from fluxgate.runs import stage_runs

    with connect() as api:
        return stage_runs(api, "shop", version)


def test_a_green_ci_run_starts_the_dev_stage_once(stage: Stage) -> None:
    payload = example("workflow_run", "completed")
    payload["repository"]["full_name"] = "acme/shop"
    payload["workflow_run"] |= {"conclusion": "success", "head_branch": "main", "head_sha": SHA,
                                "path": ".github/workflows/ci.yml"}
    for _delivery in range(2):  # GitHub redelivers; a second CI run of the same commit too
        assert stage.connector.webhook("workflow_run", payload, str(uuid.uuid4())).status_code == 202
    stage.connector.settle()
    deadline = time.monotonic() + 20
    while not _runs("9fceb02"):
        assert time.monotonic() < deadline, stage.connector.settle()
        time.sleep(0.2)
    runs = _runs("9fceb02")
    assert [r.name for r in runs] == ["shop@9fceb02 -> dev"]
    assert runs[0].request.images == {
        "web": "ghcr.io/acme/shop-web:9fceb02", "worker": "ghcr.io/acme/shop-worker:9fceb02"
    }

    payload["workflow_run"]["conclusion"] = "failure"
    payload["workflow_run"]["head_sha"] = "1" * 40
    assert stage.connector.webhook("workflow_run", payload, str(uuid.uuid4())).status_code == 202
    listing = stage.connector.settle()
    assert any("completed: failure" in (d.get("note") or "") for d in listing["deliveries"]), listing
    assert _runs("1111111") == []
