"""A merged promotion PR is kept as a fact for the stage that waits on it, even if it comes first."""

from __future__ import annotations

import json
from pathlib import Path

from fluxgate.github import GitHubGateway, GitHubSettings, Promotion, promote
from fluxgate.sandbox.github import RunningEmulator
from tests.connector.conftest import WEBHOOK_SECRET, ConnectorProcess
from tests.github.conftest import TOKEN


def test_a_merged_promotion_pr_delivered_by_github_is_kept(
    github: RunningEmulator, connector: ConnectorProcess, tmp_path: Path
) -> None:
    hook = github.emulator.add_hook(
        connector.repo, f"{connector.url}/github/webhook", WEBHOOK_SECRET, ["pull_request", "push"]
    )
    gw = GitHubGateway(GitHubSettings(api_url=github.url, token=TOKEN, min_write_interval=0), cache=tmp_path)
    outcome = promote(
        gw,
        connector.repo,
        "main",
        Promotion(app="shop", env="dev", version="1.0.0"),
        {"dev/a.yaml": b"a: 1\n"},
        ["dev"],
        "summary",
    )
    assert outcome.pull_request is not None
    merge_sha = gw.merge(connector.repo, outcome.pull_request.number, "merge")
    assert github.emulator.dispatcher.settle()
    listing = connector.settle()
    notes = [d["note"] for d in listing["deliveries"]]
    assert f"{connector.repo}#{outcome.pull_request.number} merged: kept for its stage" in notes
    assert any(n and n.startswith("ping from hook") for n in notes)
    delivered = [d for d in github.emulator.state.deliveries if d.hook_id == hook.id]
    assert all(d.attempts and d.attempts[-1].status_code == 202 for d in delivered)
    from fluxgate.connector.reconcile_github import merge_fact_key
    from fluxgate.connector.store import Store, sqlite_url

    store = Store(sqlite_url(connector.data))
    fact = store.effect_done(merge_fact_key(connector.repo, outcome.pull_request.number))
    store.close()
    assert fact is not None and json.loads(fact)["merge_sha"] == merge_sha


def test_the_same_github_delivery_twice_is_processed_once(connector: ConnectorProcess) -> None:
    payload = {"zen": "Design for failure.", "hook_id": 7, "hook": {"id": 7}}
    first = connector.webhook("ping", payload, "delivery-1")
    again = connector.webhook("ping", payload, "delivery-1")
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert connector.settle()["counts"] == {"done": 1}


def test_an_opted_in_environment_tells_the_code_repo_when_flux_is_done(
    github: RunningEmulator, connector: ConnectorProcess, tmp_path: Path
) -> None:
    from tests.connector.conftest import kustomization_event

    code_repo = connector.repo + "-code"
    github.emulator.create_repo(code_repo)
    connector.stop()
    text = connector.config.read_text().replace("app: shop\n", f"app: shop\ncode_repo: {code_repo}\n", 1)
    connector.config.write_text(
        text.replace("    auto_promote: true\n", "    auto_promote: true\n    repository_dispatch: true\n", 1)
    )
    connector.start()
    github.emulator.add_hook(
        connector.repo, f"{connector.url}/github/webhook", WEBHOOK_SECRET, ["pull_request"]
    )
    gw = GitHubGateway(GitHubSettings(api_url=github.url, token=TOKEN, min_write_interval=0), cache=tmp_path)
    outcome = promote(
        gw,
        connector.repo,
        "main",
        Promotion(app="shop", env="dev", version="1.4.2"),
        {"dev/a.yaml": b"a: 1\n"},
        ["dev"],
        "summary",
    )
    assert outcome.pull_request is not None
    merge_sha = gw.merge(connector.repo, outcome.pull_request.number, "merge")
    assert github.emulator.dispatcher.settle()
    connector.settle()
    connector.flux(kustomization_event(merge_sha, "ReconciliationSucceeded", "applied"))
    connector.settle()
    dispatched = github.emulator.state.repos[code_repo].dispatches
    assert [
        (d.event_type, d.client_payload["version"], d.client_payload["revision"]) for d in dispatched
    ] == [("fluxgate.sync-succeeded", "1.4.2", merge_sha)]
    connector.flux(
        kustomization_event(
            merge_sha, "ReconciliationSucceeded", "applied again", timestamp="2026-01-01T11:00:00Z"
        )
    )
    connector.settle()
    assert len(github.emulator.state.repos[code_repo].dispatches) == 1  # Flux's repeats are not news
