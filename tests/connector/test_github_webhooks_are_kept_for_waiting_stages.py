"""A merged promotion PR is kept as a fact for the stage that waits on it, even if it comes first."""

from __future__ import annotations

from pathlib import Path

from fluxgate.sandbox.github import RunningEmulator
from tests.connector.conftest import ConnectorProcess


def test_a_merged_promotion_pr_delivered_by_github_is_kept(
    github: RunningEmulator, connector: ConnectorProcess, tmp_path: Path
) -> None:
    gw, number = connector.open_promotion(github, tmp_path, "dev", "1.0.0")
    merge_sha = gw.merge(connector.repo, number, "merge")
    assert github.emulator.dispatcher.settle()
    listing = connector.settle()
    notes = [d["note"] for d in listing["deliveries"]]
    assert f"{connector.repo}#{number} merged: kept for its stage" in notes
    assert any(n and n.startswith("ping from hook") for n in notes)
    hooks = github.emulator.state.repos[connector.repo].hooks
    delivered = [d for d in github.emulator.state.deliveries if d.hook_id in hooks]
    assert all(d.attempts and d.attempts[-1].status_code == 202 for d in delivered)
    from fluxgate.connector.facts import Facts
    from fluxgate.connector.store import Store, sqlite_url

    store = Store(sqlite_url(connector.data))
    fact = Facts(store).merge(connector.repo, number)
    store.close()
    assert fact is not None and fact.merge_sha == merge_sha and fact.merged_by == "fluxgate-bot"


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

    code_repo = connector.opt_in_dispatch(github)
    gw, number = connector.open_promotion(github, tmp_path, "dev", "1.4.2")
    merge_sha = gw.merge(connector.repo, number, "merge")
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
