"""Stage runs on the Prefect server: started, found and judged, for the CLI, the connector's triggers,
the flow, the demo, the benchmarks and the tests.

The one place that knows how a stage run is started (parameters, tags, name) and what the runs of an
app say: which release completed where, what a rollback goes back to. Also the environment holds a
rollback leaves behind: a Prefect Variable per (app, env), visible and deletable in the UI too, so
promotion stays stopped until a person says otherwise. Talks to Prefect through `PrefectApi` only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel

from fluxgate.errors import UsageError
from fluxgate.prefect_api import PrefectApi
from fluxgate.stage import RunState, StageRequest, StageRun, StageTags

__all__ = [
    "Hold",
    "completed_stages",
    "create_stage_run",
    "hold_environment",
    "last_verified",
    "read_hold",
    "release_hold",
    "rollback_request",
    "stage_runs",
    "start_rollback",
]


class Hold(BaseModel):
    """Why automatic promotion into an environment is stopped, and since when."""

    app: str
    env: str
    reason: str
    since: str


def _hold_name(app: str, env: str) -> str:
    return "fluxgate_hold_" + re.sub(r"[^a-z0-9_]", "_", f"{app}__{env}".lower())


def stage_runs(
    api: PrefectApi, app: str, version: str | None = None, env: str | None = None
) -> list[StageRun]:
    """Stage runs of an app (newest first, the latest 200), narrowed to a release and/or an environment."""
    found = api.stage_runs(tags=StageTags.selecting(app, version, env))
    return [run for run in found if (tags := run.stage) is not None and tags.app == app]


def create_stage_run(api: PrefectApi, request: StageRequest, idempotency_key: str | None = None) -> StageRun:
    """A new run of `deploy-stage` for `request` (the same one again for a repeated idempotency key)."""
    return api.create_stage_run(
        parameters={"request": request.model_dump()},
        tags=StageTags(app=request.app, version=request.version, env=request.env).to_tags(),
        name=request.run_name,
        idempotency_key=idempotency_key,
    )


def completed_stages(
    api: PrefectApi, app: str, version: str | None = None, env: str | None = None
) -> list[StageRun]:
    """Stage runs that completed (deployed, healthy, verified) and can be repeated, newest first."""
    return [
        r for r in stage_runs(api, app, version, env) if r.state == RunState.COMPLETED and r.renders_by_commit
    ]


def last_verified(api: PrefectApi, app: str, env: str, other_than: str | None = None) -> StageRequest | None:
    """The newest release that completed its stage in `env`, skipping `other_than` (the release being
    taken back)."""
    for run in completed_stages(api, app, env=env):
        if run.request.version != other_than:
            return run.request
    return None


def read_hold(api: PrefectApi, app: str, env: str) -> Hold | None:
    value = api.variable(_hold_name(app, env))
    return Hold.model_validate(value) if value is not None else None


def hold_environment(api: PrefectApi, app: str, env: str, reason: str) -> Hold:
    """Stop automatic promotion into `env` (idempotent: the first reason and time are kept)."""
    existing = read_hold(api, app, env)
    if existing is not None:
        return existing
    hold = Hold(app=app, env=env, reason=reason, since=datetime.now(UTC).isoformat(timespec="seconds"))
    api.create_variable(_hold_name(app, env), hold.model_dump(), tags=["fluxgate", "hold"])
    return hold


def release_hold(api: PrefectApi, app: str, env: str) -> Hold | None:
    """Let automatic promotion into `env` go on; returns the hold that was released, if any."""
    hold = read_hold(api, app, env)
    if hold is not None:
        api.delete_variable(_hold_name(app, env))
    return hold


def rollback_request(
    api: PrefectApi, app: str, env: str, current: str | None, to: str | None = None
) -> StageRequest:
    """The stage that takes `current` back out of `env`: to `to`, or to the last verified release.

    Raises:
        UsageError: `to` never completed a stage in `env`, or there is nothing earlier to go back to.
    """
    if to is not None:
        done = completed_stages(api, app, to, env)
        if not done:
            raise UsageError(f"{app}@{to} was never deployed to {env}: nothing to roll back to")
        target = done[0].request
    else:
        found = last_verified(api, app, env, other_than=current)
        if found is None:
            raise UsageError(f"{env} has no verified release of {app} before {current} to roll back to")
        target = found
    if target.version == current:
        raise UsageError(f"{env} already runs {app}@{current}")
    return target.model_copy(update={"force": True, "rollback_from": current})


def start_rollback(api: PrefectApi, request: StageRequest, idempotency_key: str | None = None) -> StageRun:
    """Hold automatic promotion into the environment, then start the rollback's stage run (once per key)."""
    reason = f"rollback of {request.app}@{request.rollback_from} to {request.version}"
    hold_environment(api, request.app, request.env, reason)
    return create_stage_run(api, request, idempotency_key=idempotency_key)
