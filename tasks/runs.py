"""The stage run's own bookkeeping in Prefect: its tags (how the connector finds it) and the next stage."""

from __future__ import annotations

from prefect import runtime, task
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

from fluxgate.errors import ConfigError
from fluxgate.runs import Hold, read_hold, rollback_request, start_rollback
from fluxgate.stage import DEPLOYMENT_NAME, StageRequest, stage_tags

__all__ = ["current_tags", "promotion_hold", "roll_back", "set_run_tags", "start_stage"]


def current_tags() -> list[str]:
    """The run's tags as the server has them now (the context's copy is from when the run started)."""
    with get_client(sync_client=True) as client:
        return list(client.read_flow_run(runtime.flow_run.id).tags)


def set_run_tags(*tags: str, replacing: tuple[str, ...] = ()) -> None:
    """Add tags to this run; tags starting with a prefix in `replacing` are dropped first."""
    kept = [t for t in current_tags() if not any(t.startswith(p) for p in replacing)]
    wanted = kept + [t for t in tags if t not in kept]
    with get_client(sync_client=True) as client:
        client.update_flow_run(runtime.flow_run.id, tags=wanted)


@task(name="promote", persist_result=True)
def start_stage(request: StageRequest) -> str:
    """Start `request`'s stage run and return at once (the next stage suspends and resumes on its own).

    Returns:
        The new flow run's id. Idempotent: a repeated promotion of the same release to the same
        environment gets the run created the first time.
    """
    run = run_deployment(
        DEPLOYMENT_NAME,
        parameters={"request": request.model_dump()},
        flow_run_name=request.run_name,
        tags=stage_tags(request.app, request.version, request.env),
        idempotency_key=f"promote:{request.run_name}:{runtime.flow_run.id}",
        timeout=0,
        as_subflow=False,
    )
    return str(run.id)  # type: ignore[union-attr]  # sync context: a FlowRun, not a coroutine


@task(name="promotion-hold")
def promotion_hold(app: str, env: str) -> Hold | None:
    """The hold a rollback left on `env`, if any: automatic promotion into it waits for a person."""
    with get_client(sync_client=True) as client:
        return read_hold(client, app, env)


@task(name="roll-back", persist_result=True)
def roll_back(request: StageRequest) -> str:
    """Take `request`'s release back out of its environment: hold promotion into it and start the
    stage that restores the last verified release (once per failed run). Returns one line saying so."""
    with get_client(sync_client=True) as client:
        try:
            target = rollback_request(client, request.app, request.env, current=request.version)
        except ConfigError as why:
            return f"no rollback: {why}"
        target = target.model_copy(update={"config": request.config})
        run = start_rollback(client, target, idempotency_key=f"rollback:{runtime.flow_run.id}")
    return f"rolling back {request.env} to {target.version} ({run.name})"
