"""Two stage-shaped flows that suspend the way fluxgate's stage flow does (its flow name, the
contract's pause keys and run input models), for the connector's resume tests."""

from __future__ import annotations

from prefect import flow
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput

from fluxgate.stage import FLOW_NAME, FluxResult, MergeResult, PauseKey, Wait


class MergeInput(RunInput, MergeResult):
    pass


class FluxInput(RunInput, FluxResult):
    pass


@flow(name=FLOW_NAME, persist_result=True)
def waits_for_merge() -> dict[str, object]:
    result = suspend_flow_run(wait_for_input=MergeInput, key=str(PauseKey(wait=Wait.MERGE)), timeout=600)
    return result.model_dump()


@flow(name=FLOW_NAME, persist_result=True)
def waits_for_flux() -> dict[str, object]:
    result = suspend_flow_run(wait_for_input=FluxInput, key=str(PauseKey(wait=Wait.FLUX)), timeout=600)
    return result.model_dump()
