"""One stage of a release (render -> PR -> merge -> Flux -> verify -> promote), without Prefect.

What a stage run is called and tagged, what its waits are keyed and answered with, what it
renders and proposes, how it verifies, and where it goes next: plain data and functions that the
Prefect flow in `flows/` composes and the connector and CLI read.
"""

from fluxgate.stage.inputs import FluxResult, MergeResult, SoakResult
from fluxgate.stage.naming import (
    DEPLOYMENT_NAME,
    FLOW_NAME,
    StageRequest,
    due_tag,
    pause_key,
    pr_tag,
    sha_tag,
    stage_tags,
)
from fluxgate.stage.plan import NextStep, next_step
from fluxgate.stage.prepare import PreparedStage, prepare_stage
from fluxgate.stage.report import stage_markdown
from fluxgate.stage.verify import CheckResult, run_http_checks

__all__ = [
    "DEPLOYMENT_NAME",
    "FLOW_NAME",
    "CheckResult",
    "FluxResult",
    "MergeResult",
    "NextStep",
    "PreparedStage",
    "SoakResult",
    "StageRequest",
    "due_tag",
    "next_step",
    "pause_key",
    "pr_tag",
    "prepare_stage",
    "run_http_checks",
    "sha_tag",
    "stage_markdown",
    "stage_tags",
]
