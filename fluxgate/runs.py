"""Stage runs on the Prefect server: created from the `deploy-stage` deployment and found by their tags.

The one place that knows how a stage run is started (parameters, tags, name) and looked up, for
the CLI, the connector's triggers, the flow, the benchmarks and the tests. Takes a sync Prefect
client. Also the environment holds a rollback leaves behind: a Prefect Variable per (app, env),
visible and deletable in the UI too, so promotion stays stopped until a person says otherwise.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from fluxgate.errors import ConfigError
from fluxgate.stage import DEPLOYMENT_NAME, FLOW_NAME, StageRequest, stage_tags

__all__ = [
    "Hold",
    "completed_stages",
    "create_stage_run",
    "describe_run",
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


def describe_run(run: Any) -> str:
    """A stage run's state in one phrase: where it waits, or how it ended and why."""
    state = run.state
    if state is None:
        return "unknown"
    if state.type.value == "PAUSED":
        return f"waiting ({state.state_details.pause_key})"
    return str(state.name) + (f": {state.message}" if state.message else "")


def stage_runs(client: Any, app: str, version: str | None = None, env: str | None = None) -> list[Any]:
    """Stage runs of an app (newest first), narrowed to a release and/or an environment."""
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    tags = [f"fluxgate.release:{app}@{version}"] if version else []
    tags += [f"fluxgate.env:{env}"] if env else []
    found = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
        flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=tags)) if tags else None,
        sort=FlowRunSort.START_TIME_DESC,
        limit=200,
    )
    return [r for r in found if any(t.startswith(f"fluxgate.release:{app}@") for t in r.tags)]


def create_stage_run(client: Any, request: StageRequest, idempotency_key: str | None = None) -> Any:
    """A new run of `deploy-stage` for `request` (the same one again for a repeated idempotency key)."""
    from prefect.exceptions import ObjectNotFound

    try:
        deployment = client.read_deployment_by_name(DEPLOYMENT_NAME)
    except ObjectNotFound:
        raise ConfigError(
            f"no {DEPLOYMENT_NAME} deployment on the Prefect server: run `fluxgate serve` "
            "(or `prefect deploy` with deployments/prefect.yaml) first"
        ) from None
    return client.create_flow_run_from_deployment(
        deployment.id,
        parameters={"request": request.model_dump()},
        tags=stage_tags(request.app, request.version, request.env),
        name=request.run_name,
        idempotency_key=idempotency_key,
    )


def completed_stages(client: Any, app: str, version: str | None = None, env: str | None = None) -> list[Any]:
    """Stage runs that completed (deployed, healthy, verified), newest first."""
    return [
        r for r in stage_runs(client, app, version, env) if r.state_type and r.state_type.value == "COMPLETED"
    ]


def last_verified(client: Any, app: str, env: str, other_than: str | None = None) -> StageRequest | None:
    """The newest release that completed its stage in `env`, skipping `other_than` (the release being
    taken back)."""
    for run in completed_stages(client, app, env=env):
        request = StageRequest.model_validate(run.parameters["request"])
        if request.version != other_than:
            return request
    return None


def read_hold(client: Any, app: str, env: str) -> Hold | None:
    variable = client.read_variable_by_name(_hold_name(app, env))
    return Hold.model_validate(variable.value) if variable is not None else None


def hold_environment(client: Any, app: str, env: str, reason: str) -> Hold:
    """Stop automatic promotion into `env` (idempotent: the first reason and time are kept)."""
    from prefect.client.schemas.actions import VariableCreate

    existing = read_hold(client, app, env)
    if existing is not None:
        return existing
    hold = Hold(app=app, env=env, reason=reason, since=datetime.now(UTC).isoformat(timespec="seconds"))
    client.create_variable(
        VariableCreate(name=_hold_name(app, env), value=hold.model_dump(), tags=["fluxgate", "hold"])
    )
    return hold


def release_hold(client: Any, app: str, env: str) -> Hold | None:
    """Let automatic promotion into `env` go on; returns the hold that was released, if any."""
    hold = read_hold(client, app, env)
    if hold is not None:
        client.delete_variable_by_name(_hold_name(app, env))
    return hold


def rollback_request(
    client: Any, app: str, env: str, current: str | None, to: str | None = None
) -> StageRequest:
    """The stage that takes `current` back out of `env`: to `to`, or to the last verified release.

    Raises:
        ConfigError: `to` never completed a stage in `env`, or there is nothing earlier to go back to.
    """
    if to is not None:
        done = completed_stages(client, app, to, env)
        if not done:
            raise ConfigError(f"{app}@{to} was never deployed to {env}: nothing to roll back to")
        target = StageRequest.model_validate(done[0].parameters["request"])
    else:
        found = last_verified(client, app, env, other_than=current)
        if found is None:
            raise ConfigError(f"{env} has no verified release of {app} before {current} to roll back to")
        target = found
    if target.version == current:
        raise ConfigError(f"{env} already runs {app}@{current}")
    return target.model_copy(update={"force": True, "rollback_from": current})


def start_rollback(client: Any, request: StageRequest, idempotency_key: str | None = None) -> Any:
    """Hold automatic promotion into the environment, then start the rollback's stage run (once per key)."""
    reason = f"rollback of {request.app}@{request.rollback_from} to {request.version}"
    hold_environment(client, request.app, request.env, reason)
    return create_stage_run(client, request, idempotency_key=idempotency_key)
