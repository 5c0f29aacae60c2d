"""The stage run's own bookkeeping in Prefect: its tags (how the connector finds it) and the next stage."""

from __future__ import annotations

from prefect import runtime, task

from fluxgate.errors import UsageError
from fluxgate.prefect_api import connect
from fluxgate.runs import Hold, create_stage_run, read_hold, rollback_request, start_rollback
from fluxgate.stage import StageRequest, StageRun, StageTags, pinned
from tasks.context import gateway
from tasks.policy import TRANSIENT

__all__ = ["promotion_hold", "read_stage_run", "roll_back", "start_stage", "write_stage_tags"]


def read_stage_run() -> StageRun:
    """This run as the server has it now (the context's copy is from when the run started): its tags
    (none on a run created by hand in the UI) and the waits it has suspended at."""
    with connect(check=False) as api:
        return api.read_run(runtime.flow_run.id)


def write_stage_tags(tags: StageTags) -> None:
    """Replace this run's fluxgate tags with `tags` (tags a person added stay)."""
    with connect(check=False) as api:
        run = api.read_run(runtime.flow_run.id)
        api.set_tags(run.id, StageTags.merged_into(run.tags, tags))


@task(name="promote", persist_result=True, **TRANSIENT)
def start_stage(request: StageRequest) -> str:
    """Start `request`'s stage run and return at once (the next stage suspends and resumes on its own).

    Returns:
        The new flow run's id. Idempotent: a repeated promotion of the same release to the same
        environment gets the run created the first time.
    """
    request = pinned(gateway(), request)  # the next environment's config, as it is now
    with connect(check=False) as api:
        key = f"promote:{request.run_name}:{runtime.flow_run.id}"
        run = create_stage_run(api, request, idempotency_key=key)
    return str(run.id)


@task(name="promotion-hold", **TRANSIENT)
def promotion_hold(app: str, env: str) -> Hold | None:
    """The hold a rollback left on `env`, if any: automatic promotion into it waits for a person."""
    with connect(check=False) as api:
        return read_hold(api, app, env)


@task(name="roll-back", persist_result=True, **TRANSIENT)
def roll_back(request: StageRequest) -> str:
    """Take `request`'s release back out of its environment: hold promotion into it and start the
    stage that restores the last verified release (once per failed run), rendered from that
    release's own code and config commits. Returns one line saying so."""
    with connect(check=False) as api:
        try:
            target = rollback_request(api, request.app, request.env, current=request.version)
        except UsageError as why:
            return f"no rollback: {why}"
        run = start_rollback(api, target, idempotency_key=f"rollback:{runtime.flow_run.id}")
    return f"rolling back {request.env} to {target.version} ({run.name})"
