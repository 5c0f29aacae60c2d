"""A release that fails in an environment with `rollback_on_failure` is taken back as a reviewed Git
change: a rollback PR restores the last verified release, goes through merge, Flux and
verification like any stage, and holds automatic promotion into the environment until a person
lifts the hold with `fluxgate release-hold`."""

from __future__ import annotations

import subprocess
from typing import Any

from typer.testing import CliRunner

from tests.pipeline.conftest import Stage


def _cli(stage: Stage, *args: str) -> Any:
    from fluxgate.cli import app

    return CliRunner().invoke(app, [*args, "-c", str(stage.config)])


def test_a_failed_rollout_opens_a_rollback_pr_that_restores_the_verified_release(stage: Stage) -> None:
    from fluxgate.prefect_api import connect
    from fluxgate.runs import stage_runs

    text = stage.config.read_text()
    on = "    approval: review\n    rollback_on_failure: true\n"
    stage.config.write_text(text.replace("    approval: review\n", on, 1))

    good = stage.create(stage.request(version="4.0.0"))
    stage.rolled_out(good)
    assert stage.execute(good).is_completed()

    bad = stage.create(stage.request(version="4.1.0"))
    sha = stage.merged(bad)
    stage.flux_failed(sha, "Deployment/shop-dev/web: 0/1 ready: ImagePullBackOff")
    stage.wait_resumed(bad)
    failed = stage.execute(bad)
    assert failed is not None and failed.is_failed()
    assert failed.message == (
        "dev-eu: HealthCheckFailed: Deployment/shop-dev/web: 0/1 ready: ImagePullBackOff; "
        "rolling back dev to 4.0.0 (shop@4.0.0 -> dev (rollback from 4.1.0))"
    )

    with connect() as api:
        rollback = next(r for r in stage_runs(api, "shop", "4.0.0", "dev") if "rollback" in r.name)
    # the restored release is rendered from its own commit, not from the failed one's
    assert rollback.request.source == good.request.source != bad.request.source
    assert stage.execute(rollback) is None and stage.pause_key(rollback) == "await-merge"
    number = stage.tags(rollback).pr.number
    pr = stage.api(f"/pulls/{number}")
    assert pr["title"] == "Roll back shop in dev to 4.0.0 (from 4.1.0)"
    assert "**Rollback.**" in pr["body"]
    assert "ghcr.io/acme/shop-web:4.1.0" in pr["body"] and "ghcr.io/acme/shop-web:4.0.0" in pr["body"]
    status = _cli(stage, "status")
    assert "dev is held since" in status.output and "rollback of shop@4.1.0 to 4.0.0" in status.output

    # the rollback is a stage like any other: reviewed, merged, applied by Flux, verified
    stage.rolled_out(rollback, stamp="12:00")
    done = stage.execute(rollback)
    assert done is not None and done.is_completed(), done
    assert done.message.startswith("dev is back on shop@4.0.0; automatic promotion into it is held")
    head = stage.gateway().snapshot(stage.repo, "main")
    dev = [path for path in head.files if path.startswith("dev/")]
    rendered = "".join(
        subprocess.run(["git", "-C", str(head.git_dir), "show", f"{head.commit}:{path}"],
                       capture_output=True, text=True, check=True).stdout
        for path in dev
    )
    assert "shop-web:4.0.0" in rendered and "shop-web:4.1.0" not in rendered

    released = _cli(stage, "release-hold", "--env", "dev")
    assert released.exit_code == 0 and released.output.startswith("released the hold on dev")
    assert "is held since" not in _cli(stage, "status").output


def test_a_held_environment_is_not_promoted_into_automatically(stage: Stage) -> None:
    from fluxgate.prefect_api import connect
    from fluxgate.runs import hold_environment, stage_runs

    with connect() as api:
        hold_environment(api, "shop", "staging", "rollback of shop@0.9.0 to 0.8.0")
    try:
        run = stage.create(stage.request(version="4.5.0"))
        stage.rolled_out(run)
        final = stage.execute(run)
        assert final is not None and final.is_completed()
        assert final.message.startswith("not promoting shop@4.5.0 to staging: held since ")
        lift = "(rollback of shop@0.9.0 to 0.8.0); `fluxgate release-hold --env staging` lifts it"
        assert final.message.endswith(lift)
        with connect() as api:
            assert stage_runs(api, "shop", "4.5.0", "staging") == []
    finally:
        released = _cli(stage, "release-hold", "--env", "staging")
    assert released.output.startswith("released the hold on staging")


def test_rolling_back_to_a_release_never_deployed_is_one_line(stage: Stage) -> None:
    run = stage.create(stage.request(version="4.7.0"))
    assert stage.execute(run) is None
    result = _cli(stage, "rollback", "--env", "dev", "--to", "shop@0.0.1")
    assert result.exit_code == 2
    never = "error: shop@0.0.1 was never deployed to dev: nothing to roll back to"
    assert result.output.splitlines() == [never]
