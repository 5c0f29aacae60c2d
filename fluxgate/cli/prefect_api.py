"""The CLI's view of Prefect: stage runs of the `deploy-stage` deployment, found by their tags.

Every failure to reach the server or find the deployment is one line naming the URL or the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from fluxgate.errors import ConfigError
from fluxgate.stage import DEPLOYMENT_NAME, FLOW_NAME, StageRequest, stage_tags

__all__ = ["create_stage_run", "prefect_client", "run_url", "stage_runs"]


def _api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ConfigError(
            "PREFECT_API_URL is not set: point it at your Prefect server, e.g. http://HOST:4200/api"
        )
    return str(url).rstrip("/")


@contextmanager
def prefect_client() -> Iterator[Any]:
    """A sync Prefect client, after checking that the server answers (one line if it does not)."""
    from prefect.client.orchestration import get_client

    url = _api_url()
    try:
        healthy = httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.HTTPError as error:
        raise ConfigError(f"Prefect server unreachable at {url}: {type(error).__name__}") from None
    if not healthy:
        raise ConfigError(f"Prefect server at {url} is not healthy (GET /health)")
    with get_client(sync_client=True) as client:
        yield client


def run_url(run_id: Any) -> str:
    from prefect.settings import PREFECT_UI_URL

    base = str(PREFECT_UI_URL.value() or _api_url().removesuffix("/api")).rstrip("/")
    return f"{base}/runs/flow-run/{run_id}"


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


def create_stage_run(client: Any, request: StageRequest) -> Any:
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
    )
