"""Two stage-shaped flows that suspend the way fluxgate's stage flow does (pause keys and RunInputs
from DESIGN.md), for the connector's resume tests."""

from __future__ import annotations

from prefect import flow
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput


class MergeResult(RunInput):
    merged: bool
    merge_sha: str | None
    merged_by: str | None
    pr_url: str


class FluxResult(RunInput):
    healthy: bool
    revision: str | None
    clusters: list[str]
    message: str


@flow(name="waits-for-merge", persist_result=True)
def waits_for_merge() -> dict[str, object]:
    result = suspend_flow_run(wait_for_input=MergeResult, key="await-merge", timeout=600)
    return result.model_dump()


@flow(name="waits-for-flux", persist_result=True)
def waits_for_flux() -> dict[str, object]:
    result = suspend_flow_run(wait_for_input=FluxResult, key="await-flux", timeout=600)
    return result.model_dump()
