"""The one door to Prefect's API: stage runs, variables and events, and where the server is.

Everything outside the Prefect layer (the CLI, the connector, `fluxgate.runs`, the demo) talks to
the Prefect server through `connect()` and gets fluxgate's own types back: a `StageRun` for a flow
run, a fluxgate error for every failure. An unreachable server is `PrefectUnavailable` (retryable),
a missing `PREFECT_API_URL` or deployment a `SettingsError` (fix the setup).

Prefect takes seconds to import, and a `fluxgate render` never needs it: Prefect's modules are
imported inside the methods that use them, here and nowhere else outside `flows/`, `tasks/`,
`blocks/` and the runner's process plumbing (`fluxgate.warm_start`); import-linter checks that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx
from pydantic import BaseModel

from fluxgate.errors import PrefectUnavailable, SettingsError
from fluxgate.stage.naming import DEPLOYMENT_NAME, FLOW_NAME
from fluxgate.stage.run import RunState, StageRun

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

__all__ = [
    "PrefectApi",
    "api_url",
    "check_health",
    "connect",
    "emit_event",
    "load_flow",
    "run_url",
    "server_configured",
]

PAGE = 200


def server_configured() -> bool:
    """Whether a Prefect server is named at all (commands that can work without one ask first)."""
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def api_url() -> str:
    """`PREFECT_API_URL` (from the environment or the active Prefect profile), without a trailing /."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise SettingsError(
            "PREFECT_API_URL is not set: point it at your Prefect server, e.g. http://HOST:4200/api"
        )
    return str(url).rstrip("/")


def run_url(run_id: UUID | str) -> str:
    """The run's page in the Prefect UI."""
    from prefect.settings import PREFECT_UI_URL

    base = str(PREFECT_UI_URL.value() or api_url().removesuffix("/api")).rstrip("/")
    return f"{base}/runs/flow-run/{run_id}"


def check_health(url: str | None = None, timeout: float = 5.0) -> None:
    """One line when the server does not answer `GET /health` (it answers without auth)."""
    url = url or api_url()
    try:
        healthy = httpx.get(f"{url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError as error:
        raise PrefectUnavailable(f"Prefect server unreachable at {url}: {type(error).__name__}") from None
    if not healthy:
        raise PrefectUnavailable(f"Prefect server at {url} is not healthy (GET /health)")


@contextmanager
def connect(check: bool = True) -> Iterator[PrefectApi]:
    """A session with the server; `check` first asks `/health`, so a down server is one clear line
    instead of the client's retries."""
    from prefect.client.orchestration import get_client

    if check:
        check_health()
    with get_client(sync_client=True) as client:
        yield PrefectApi(client)


def _stage_run(run: FlowRun) -> StageRun:
    state = run.state
    return StageRun(
        id=run.id,
        name=run.name,
        state=RunState(run.state_type.value) if run.state_type else None,
        state_name=state.name if state else None,
        message=state.message if state else None,
        pause_key=state.state_details.pause_key if state else None,
        suspended_at=frozenset(run.empirical_policy.pause_keys or ()),
        state_since=state.timestamp if state else None,
        tags=tuple(run.tags),
        parameters=dict(run.parameters),
        run_time=run.total_run_time,
        created=run.created,
    )


class PrefectApi:
    """Typed calls over one sync Prefect client (see `connect`)."""

    def __init__(self, client: SyncPrefectClient) -> None:
        self.client = client

    # -- stage runs ---------------------------------------------------------------------------------
    def stage_runs(
        self, tags: list[str] | None = None, states: list[RunState] | None = None, limit: int | None = PAGE
    ) -> list[StageRun]:
        """`deploy-stage` runs carrying every tag in `tags` (and in one of `states`), newest first; the
        first `limit` of them (None: all, a page at a time)."""
        from prefect.client.schemas.filters import (
            FlowFilter,
            FlowFilterName,
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
            FlowRunFilterTags,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort

        run_filter = FlowRunFilter(
            tags=FlowRunFilterTags(all_=tags) if tags else None,
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s.value) for s in states]))
            if states
            else None,
        )
        found: list[StageRun] = []
        while True:  # a page at a time: hundreds of runs may wait at once
            size = PAGE if limit is None else min(PAGE, limit - len(found))
            page = self.client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
                flow_run_filter=run_filter,
                sort=FlowRunSort.START_TIME_DESC,
                limit=size,
                offset=len(found),
            )
            found += [_stage_run(run) for run in page]
            if len(page) < size or (limit is not None and len(found) >= limit):
                return found

    def read_run(self, run_id: UUID | str) -> StageRun:
        return _stage_run(self.client.read_flow_run(UUID(str(run_id))))

    def create_stage_run(
        self, parameters: dict[str, Any], tags: list[str], name: str, idempotency_key: str | None = None
    ) -> StageRun:
        """A run of the `deploy-stage` deployment; the same run again for a repeated idempotency key."""
        from prefect.exceptions import ObjectNotFound

        try:
            deployment = self.client.read_deployment_by_name(DEPLOYMENT_NAME)
        except ObjectNotFound:
            raise SettingsError(
                f"no {DEPLOYMENT_NAME} deployment on the Prefect server: run `fluxgate serve` "
                "(or `prefect deploy` with deployments/prefect.yaml) first"
            ) from None
        run = self.client.create_flow_run_from_deployment(
            deployment.id, parameters=parameters, tags=tags, name=name, idempotency_key=idempotency_key
        )
        return _stage_run(run)

    def set_tags(self, run_id: UUID | str, tags: list[str]) -> None:
        self.client.update_flow_run(UUID(str(run_id)), tags=tags)

    def resume(self, run_id: UUID | str, run_input: BaseModel) -> str:
        """Resume a paused run with `run_input` (dumped here, validated by the run against its RunInput).
        Returns Prefect's verdict: ACCEPT, or REJECT/ABORT (the run is no longer paused, the input does
        not fit), which Prefect answers with a 200 too."""
        result = self.client.resume_flow_run(UUID(str(run_id)), run_input=run_input.model_dump(mode="json"))
        return str(getattr(result.status, "value", result.status))

    # -- variables ----------------------------------------------------------------------------------
    def variable(self, name: str) -> Any | None:
        found = self.client.read_variable_by_name(name)
        return found.value if found is not None else None

    def create_variable(self, name: str, value: Any, tags: list[str]) -> None:
        from prefect.client.schemas.actions import VariableCreate

        self.client.create_variable(VariableCreate(name=name, value=value, tags=tags))

    def delete_variable(self, name: str) -> None:
        self.client.delete_variable_by_name(name)


def emit_event(name: str, resource: str, run_id: UUID | str, payload: dict[str, Any]) -> None:
    """A Prefect event about `resource` with the run as its related resource (for the UI's feed)."""
    from prefect.events import emit_event as emit

    emit(
        event=name,
        resource={"prefect.resource.id": resource},
        related=[{"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.role": "flow-run"}],
        payload=payload,
    )


def load_flow(entrypoint: str) -> Any:
    """A flow object from `module:function` (what `fluxgate serve` and `fluxgate ci` run)."""
    from prefect.flows import load_flow_from_entrypoint

    return load_flow_from_entrypoint(entrypoint)
