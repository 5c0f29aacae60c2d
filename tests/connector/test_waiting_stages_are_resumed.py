"""A suspended stage run is resumed by the connector with the fact it waits for, even when the fact
arrived first, and only once. A real Prefect server runs for the session; the flows run in-process,
as a worker would run them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from fluxgate.connector.facts import Facts, MergeFact
from fluxgate.connector.service import Processing
from fluxgate.sandbox.github import RunningEmulator
from fluxgate.stage import PullRef, StageTags
from tests.connector.conftest import kustomization_event
from tests.prefect_runs import run_again, start_until_paused

prefect = pytest.importorskip("prefect")


def _tags(version: str, env: str, **known: Any) -> list[str]:
    """The tags a stage run of shop@`version` in `env` carries, as the stage flow writes them. These
    runs are stage runs on the session's server: their versions are their own, so the pipeline
    tests' listings of shop's releases never see them."""
    return StageTags(app="shop", version=f"{version}-resume", env=env, **known).to_tags()


def test_a_merge_that_came_first_resumes_the_stage_once_it_waits(
    processing: Processing, manifests_repo: str
) -> None:
    from tests.connector.prefect_stage import waits_for_merge

    fact = MergeFact(
        merged=True, merge_sha="a" * 40, merged_by="jane-ops", pr_url="http://gh/pr/7",
        app="shop", env="dev", version="1.0.0",
    )
    Facts(processing.store).keep_merge(manifests_repo, 7, fact)  # the webhook came first
    pr = PullRef(repo=manifests_repo, number=7)
    run = start_until_paused(waits_for_merge, _tags("1.0.0", "dev", pr=pr))
    lines = processing.resumer.sweep()
    assert any("resumed" in line and "await-merge" in line for line in lines), lines
    assert not any(str(run.id) in line for line in processing.resumer.sweep())  # never twice
    state = run_again(waits_for_merge, run)
    assert state.is_completed()
    assert state.result() == {
        "merged": True,
        "merge_sha": "a" * 40,
        "merged_by": "jane-ops",
        "pr_url": "http://gh/pr/7",
    }


def test_a_stage_waiting_for_flux_wakes_when_every_cluster_is_ready(
    processing: Processing, github: RunningEmulator, manifests_repo: str
) -> None:
    from tests.connector.prefect_stage import waits_for_flux

    sha = github.emulator.git(github.emulator.state.repos[manifests_repo]).ref("refs/heads/main")
    assert sha
    run = start_until_paused(waits_for_flux, _tags("1.0.0", "prod", sha=sha))
    handle = processing.flux.handle
    handle(
        json.dumps(
            kustomization_event(sha, "ReconciliationSucceeded", "ok", env="prod", cluster="prod-eu")
        ).encode()
    )
    assert processing.resumer.sweep() == []  # prod-us has not reported: keep waiting
    handle(
        json.dumps(
            kustomization_event(
                sha,
                "ReconciliationSucceeded",
                "ok",
                env="prod",
                cluster="prod-us",
                timestamp="2026-01-01T10:01:00Z",
            )
        ).encode()
    )
    assert len(processing.resumer.sweep()) == 1
    state = run_again(waits_for_flux, run)
    result = state.result()
    assert result["healthy"] is True and result["clusters"] == ["prod-eu", "prod-us"]


def test_the_running_connector_resumes_a_stage_when_github_reports_the_merge(
    prefect_api: str, github: RunningEmulator, connector: Any, tmp_path: Path
) -> None:
    """Across real processes: GitHub's webhook -> connector -> Prefect resume -> the stage finishes."""
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    from tests.connector.prefect_stage import waits_for_merge

    connector.stop()
    connector.env |= {"PREFECT_API_URL": prefect_api, "FLUXGATE_RESUME_INTERVAL": "0.2"}
    connector.start()
    gw, number = connector.open_promotion(github, tmp_path, "staging", "2.0.0")
    with temporary_settings({PREFECT_API_URL: prefect_api, PREFECT_LOGGING_TO_API_ENABLED: False}):
        pr = PullRef(repo=connector.repo, number=number)
        run = start_until_paused(waits_for_merge, _tags("2.0.0", "staging", pr=pr))
        merge_sha = gw.merge(connector.repo, number, "squash")
        from prefect.client.orchestration import get_client

        deadline = time.monotonic() + 30
        with get_client(sync_client=True) as client:
            while client.read_flow_run(run.id).state_type.value == "PAUSED":
                assert time.monotonic() < deadline, "the connector did not resume the stage"
                time.sleep(0.2)
        state = run_again(waits_for_merge, run)
    assert state.is_completed()
    assert state.result()["merge_sha"] == merge_sha and state.result()["merged"] is True


def test_a_run_waiting_for_an_unknown_commit_does_not_hold_up_the_others(
    processing: Processing, github: RunningEmulator, manifests_repo: str
) -> None:
    from tests.connector.prefect_stage import waits_for_flux

    sha = github.emulator.git(github.emulator.state.repos[manifests_repo]).ref("refs/heads/main")
    assert sha
    ready = kustomization_event(sha, "ReconciliationSucceeded", "ok", env="staging", cluster="staging-eu")
    processing.flux.handle(json.dumps(ready).encode())
    # GitHub has never heard of this commit: comparing with it fails
    stuck = start_until_paused(waits_for_flux, _tags("0.9.0", "staging", sha="f" * 40))
    fine = start_until_paused(waits_for_flux, _tags("0.9.1", "staging", sha=sha))
    lines = processing.resumer.sweep()
    assert any(line.startswith(f"{stuck.name} (await-flux): ") for line in lines), lines
    assert f"resumed {fine.name} (await-flux)" in lines
    assert not any(stuck.name in line for line in processing.resumer.sweep())  # said once, not every sweep


def test_a_resume_whose_record_was_lost_in_a_crash_is_not_repeated(
    make_processing: Any, manifests_repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.connector.prefect_stage import waits_for_merge

    fact = MergeFact(
        merged=True, merge_sha="b" * 40, merged_by="jane-ops", pr_url="http://gh/pr/8",
        app="shop", env="dev", version="1.1.0",
    )  # fmt: skip
    crashing = make_processing()
    Facts(crashing.store).keep_merge(manifests_repo, 8, fact)
    pr = PullRef(repo=manifests_repo, number=8)
    run = start_until_paused(waits_for_merge, _tags("1.1.0", "dev", pr=pr))
    record = crashing.store.record_effect

    def die_before_recording_a_resume(key: str, value: str = "") -> None:
        if key.startswith("resumed:"):
            raise SystemExit("killed between Prefect's answer and the record")  # what kill -9 leaves
        record(key, value)

    monkeypatch.setattr(crashing.store, "record_effect", die_before_recording_a_resume)
    with pytest.raises(SystemExit):
        crashing.resumer.sweep()
    restarted = make_processing()
    assert not any(str(run.id) in line for line in restarted.resumer.sweep())  # Prefect ran on: no repeat
    state = run_again(waits_for_merge, run)
    assert state.is_completed() and state.result()["merge_sha"] == "b" * 40
