"""One stage of a release (render -> PR -> merge -> Flux -> verify -> promote), without Prefect.

What a stage run is called and tagged, what its waits are keyed and answered with, what it
renders and proposes, how it verifies, and where it goes next: plain data and functions that the
Prefect flow in `flows/` composes and the connector and CLI read.
"""

from fluxgate.stage.checks import LocalCheck, run_checks, split_checks
from fluxgate.stage.container import DockerClient, DockerClientFactory, run_container_check
from fluxgate.stage.inputs import DispatchedRun, FluxResult, MergeResult, SoakResult, VerifyResult
from fluxgate.stage.naming import (
    DEPLOYMENT_NAME,
    FLOW_NAME,
    StageRequest,
    automerge_tag,
    due_tag,
    pause_key,
    pr_tag,
    sha_tag,
    stage_tags,
    workflow_runs_of,
    workflows_tag,
)
from fluxgate.stage.plan import NextStep, next_step
from fluxgate.stage.prepare import PreparedStage, prepare_stage
from fluxgate.stage.report import checks_markdown, stage_markdown
from fluxgate.stage.result import CheckResult
from fluxgate.stage.secrets import SecretMissing, SecretResolver, env_secrets
from fluxgate.stage.verify import run_http_check, run_http_checks

__all__ = [
    "DEPLOYMENT_NAME",
    "FLOW_NAME",
    "CheckResult",
    "DispatchedRun",
    "DockerClient",
    "DockerClientFactory",
    "FluxResult",
    "LocalCheck",
    "MergeResult",
    "NextStep",
    "PreparedStage",
    "SecretMissing",
    "SecretResolver",
    "SoakResult",
    "StageRequest",
    "VerifyResult",
    "automerge_tag",
    "checks_markdown",
    "due_tag",
    "env_secrets",
    "next_step",
    "pause_key",
    "pr_tag",
    "prepare_stage",
    "run_checks",
    "run_container_check",
    "run_http_check",
    "run_http_checks",
    "sha_tag",
    "split_checks",
    "stage_markdown",
    "stage_tags",
    "workflow_runs_of",
    "workflows_tag",
]
