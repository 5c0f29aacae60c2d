"""Stage runs on the Prefect server: created from the `deploy-stage` deployment and found by their tags.

The one place that knows how a stage run is started (parameters, tags, name) and looked up, for
the CLI, the connector's triggers, the benchmarks and the tests. Takes a sync Prefect client.
"""

from __future__ import annotations

from typing import Any

from fluxgate.errors import ConfigError
from fluxgate.stage import DEPLOYMENT_NAME, FLOW_NAME, StageRequest, stage_tags

__all__ = ["create_stage_run", "stage_runs"]


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
