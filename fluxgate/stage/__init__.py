"""One stage of a release (render -> PR -> merge -> Flux -> verify -> promote), without Prefect.

What a stage run is called and tagged, what its waits are keyed and answered with (`contract`), what
it renders and proposes, how it verifies, how it records its progress and where it goes next: plain
data and functions that the Prefect flow in `flows/` composes and the connector and CLI read.
"""

from fluxgate.stage.checks import LocalCheck, run_checks, split_checks
from fluxgate.stage.container import DockerClient, DockerClientFactory, EngineUnreachable, run_container_check
from fluxgate.stage.contract import (
    TAG_PREFIX,
    AutoMerge,
    PauseKey,
    PullRef,
    StageTags,
    Wait,
    WaitInput,
    WorkflowRef,
)
from fluxgate.stage.inputs import DispatchedRun, FluxResult, MergeResult, SoakResult, VerifyResult
from fluxgate.stage.naming import DEPLOYMENT_NAME, FLOW_NAME, StageRequest
from fluxgate.stage.plan import NextStep, next_step
from fluxgate.stage.prepare import PreparedStage, prepare_stage
from fluxgate.stage.progress import StageProgress, Stop
from fluxgate.stage.report import checks_markdown
from fluxgate.stage.result import CheckResult
from fluxgate.stage.run import FINAL_STATES, RunState, StageRun
from fluxgate.stage.secrets import SecretMissing, SecretResolver, env_secrets
from fluxgate.stage.verify import run_http_check, run_http_checks

__all__ = [
    "DEPLOYMENT_NAME",
    "FINAL_STATES",
    "FLOW_NAME",
    "TAG_PREFIX",
    "AutoMerge",
    "CheckResult",
    "DispatchedRun",
    "DockerClient",
    "DockerClientFactory",
    "EngineUnreachable",
    "FluxResult",
    "LocalCheck",
    "MergeResult",
    "NextStep",
    "PauseKey",
    "PreparedStage",
    "PullRef",
    "RunState",
    "SecretMissing",
    "SecretResolver",
    "SoakResult",
    "StageProgress",
    "StageRequest",
    "StageRun",
    "StageTags",
    "Stop",
    "VerifyResult",
    "Wait",
    "WaitInput",
    "WorkflowRef",
    "checks_markdown",
    "env_secrets",
    "next_step",
    "prepare_stage",
    "run_checks",
    "run_container_check",
    "run_http_check",
    "run_http_checks",
    "split_checks",
]
