"""A burst of Flux events against a GitHub that enforces a secondary rate limit: the connector paces
its writes with its own budget, so GitHub refuses none, and every commit still ends with its own
verdict per cluster, in a handful of writes (bench/connector.py --real-github is the full-size run)."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import httpx

from fluxgate.connector.signatures import flux_signature
from fluxgate.sandbox.github import free_port
from tests.cli.conftest import EXAMPLES
from tests.conftest import TOKEN
from tests.connector.conftest import FLUX_KEY, WEBHOOK_SECRET, ConnectorProcess, kustomization_event
from tests.github.limited import REPO, limited_github

CLUSTERS = [("dev", "dev-eu"), ("staging", "staging-eu"), ("prod", "prod-eu"), ("prod", "prod-us")]
COMMITS, OBJECTS = 3, 5  # 60 events; 12 commit statuses, more than GitHub allows in the window


def _post(connector: ConnectorProcess, event: dict[str, object]) -> None:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", "X-Signature": flux_signature(body, FLUX_KEY)}
    assert httpx.post(f"{connector.url}/flux/events", content=body, headers=headers).status_code == 202


def test_a_burst_is_paced_by_the_budget_and_github_refuses_nothing(tmp_path: Path) -> None:
    with limited_github(tmp_path / "gh", secondary_limits=[(8, 4.0)], record_bodies=True) as github:
        shas = [
            github.emulator.commit_files(REPO, "main", {"n.txt": f"{n}\n"}, f"change {n}", "bot")
            for n in range(COMMITS)
        ]
        config = tmp_path / "fluxgate.yaml"
        shop = (EXAMPLES / "shop" / "fluxgate.yaml").read_text()
        config.write_text(re.sub(r"repo: acme/shop-manifests", f"repo: {REPO}", shop))
        port = free_port()
        env = {
            **os.environ,
            "FLUXGATE_GITHUB__API_URL": github.url,
            "FLUXGATE_GITHUB__TOKEN": TOKEN,
            "FLUXGATE_GITHUB__MIN_WRITE_INTERVAL": "0",
            "FLUXGATE_FLUX_HMAC_KEY": FLUX_KEY,
            "FLUXGATE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "FLUXGATE_WRITE_SETTLE": "0.2",
            "FLUXGATE_GITHUB_WRITE_LIMITS": "8/4",  # what GitHub enforces here, as 80/60 is for real
        }
        connector = ConnectorProcess(f"http://127.0.0.1:{port}", tmp_path / "data", config, REPO, env, port)
        connector.start()
        try:
            for sha in shas:
                for env_name, cluster in CLUSTERS:
                    for n in range(OBJECTS):
                        _post(connector, kustomization_event(
                            sha, "ReconciliationSucceeded", f"Applied revision: main@sha1:{sha}",
                            env=env_name, cluster=cluster, name=f"app-{n}"))  # fmt: skip
            connector.settle(timeout=60)
        finally:
            log = connector.stop()
        writes = [r for r in github.emulator.calls() if r.method in ("POST", "PATCH", "PUT", "DELETE")]
    assert [r for r in writes if r.rate_limited] == []  # GitHub refused none
    final = {(r.path.rsplit("/", 1)[1], r.body["context"]): r.body for r in writes if "/statuses/" in r.path}
    assert len(final) == COMMITS * len(CLUSTERS)  # every commit and cluster has its own status
    verdicts = {(s["state"], s["description"].split(":")[0]) for s in final.values()}
    assert verdicts == {("success", f"All {OBJECTS} ready")}
    per_target = Counter((r.path, r.body["context"]) for r in writes if "/statuses/" in r.path)
    assert max(per_target.values()) <= 2  # coalesced: at most a first sum and the final one
    assert len(writes) > 8  # more than one window allows: without the budget, GitHub would have refused some
    assert "Traceback" not in log, log
