"""A green CI run on main in the code repo starts the release's first stage: the connector hears
GitHub's `workflow_run` webhook and creates the dev stage run in Prefect, once, rendering the very
commit CI built."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.pipeline.conftest import Stage
from tests.unit.test_github_webhooks_become_facts import example


def _runs(version: str) -> list[Any]:
    from fluxgate.prefect_api import connect
    from fluxgate.runs import stage_runs

    with connect() as api:
        return stage_runs(api, "shop", version)


def test_a_green_ci_run_starts_the_dev_stage_once(stage: Stage) -> None:
    source = stage.publish()
    sha, version = source["commit"], source["commit"][:7]
    payload = example("workflow_run", "completed")
    payload["repository"]["full_name"] = source["repo"]
    payload["workflow_run"] |= {"conclusion": "success", "head_branch": "main", "head_sha": sha,
                                "path": ".github/workflows/ci.yml"}
    for _delivery in range(2):  # GitHub redelivers; a second CI run of the same commit too
        assert stage.connector.webhook("workflow_run", payload, str(uuid.uuid4())).status_code == 202
    stage.connector.settle()
    deadline = time.monotonic() + 20
    while not _runs(version):
        assert time.monotonic() < deadline, stage.connector.settle()
        time.sleep(0.2)
    runs = _runs(version)
    assert [r.name for r in runs] == [f"shop@{version} -> dev"]
    assert runs[0].request.images == {
        "web": f"ghcr.io/acme/shop-web:{version}", "worker": f"ghcr.io/acme/shop-worker:{version}"
    }
    assert runs[0].request.source.repo == source["repo"] and runs[0].request.source.commit == sha
    assert (runs[0].request.source.digest or "").startswith("sha256:")

    # a green run of a commit the code repository does not have: noted, nothing started
    payload["workflow_run"]["head_sha"] = "2" * 40
    assert stage.connector.webhook("workflow_run", payload, str(uuid.uuid4())).status_code == 202
    listing = stage.connector.settle()
    assert any(f"{source['repo']} has no commit {'2' * 40}" in (d.get("note") or "")
               for d in listing["deliveries"]), listing
    assert _runs("2222222") == []

    payload["workflow_run"]["conclusion"] = "failure"
    payload["workflow_run"]["head_sha"] = "1" * 40
    assert stage.connector.webhook("workflow_run", payload, str(uuid.uuid4())).status_code == 202
    listing = stage.connector.settle()
    assert any("completed: failure" in (d.get("note") or "") for d in listing["deliveries"]), listing
    assert _runs("1111111") == []
