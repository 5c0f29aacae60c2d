"""One stage of a release (render -> PR -> merge -> Flux -> verify -> promote), without Prefect.

What a stage run is called and tagged, what its waits are keyed and answered with (`contract`), what
it renders and proposes, how it verifies, how it records its progress and where it goes next: plain
data and functions that the Prefect flow in `flows/` composes and the connector and CLI read.

Names are imported when first used (PEP 562): the connector's processing process needs the
contract and a few models, not the renderer and the schema validator behind `prepare_stage`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fluxgate.stage.checks import LocalCheck, run_checks, split_checks
    from fluxgate.stage.container import (
        DockerClient,
        DockerClientFactory,
        EngineUnreachable,
        run_container_check,
    )
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
    from fluxgate.stage.sources import (
        SourceFetcher,
        StageSources,
        load_pipeline,
        load_sources,
        pin_request,
        pinned,
        repo_path,
        resolve_source,
    )
    from fluxgate.stage.verify import run_http_check, run_http_checks

_WHERE = {
    "AutoMerge": "contract",
    "CheckResult": "result",
    "DEPLOYMENT_NAME": "naming",
    "DispatchedRun": "inputs",
    "DockerClient": "container",
    "DockerClientFactory": "container",
    "EngineUnreachable": "container",
    "FINAL_STATES": "run",
    "FLOW_NAME": "naming",
    "FluxResult": "inputs",
    "LocalCheck": "checks",
    "MergeResult": "inputs",
    "NextStep": "plan",
    "PauseKey": "contract",
    "PreparedStage": "prepare",
    "PullRef": "contract",
    "RunState": "run",
    "SecretMissing": "secrets",
    "SecretResolver": "secrets",
    "SoakResult": "inputs",
    "StageProgress": "progress",
    "StageRequest": "naming",
    "StageRun": "run",
    "SourceFetcher": "sources",
    "StageSources": "sources",
    "load_pipeline": "sources",
    "load_sources": "sources",
    "pin_request": "sources",
    "pinned": "sources",
    "repo_path": "sources",
    "resolve_source": "sources",
    "StageTags": "contract",
    "Stop": "progress",
    "TAG_PREFIX": "contract",
    "VerifyResult": "inputs",
    "Wait": "contract",
    "WaitInput": "contract",
    "WorkflowRef": "contract",
    "checks_markdown": "report",
    "env_secrets": "secrets",
    "next_step": "plan",
    "prepare_stage": "prepare",
    "run_checks": "checks",
    "run_container_check": "container",
    "run_http_check": "verify",
    "run_http_checks": "verify",
    "split_checks": "checks",
}

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
    "SourceFetcher",
    "StageProgress",
    "StageRequest",
    "StageRun",
    "StageSources",
    "StageTags",
    "Stop",
    "VerifyResult",
    "Wait",
    "WaitInput",
    "WorkflowRef",
    "checks_markdown",
    "env_secrets",
    "load_pipeline",
    "load_sources",
    "next_step",
    "pin_request",
    "pinned",
    "prepare_stage",
    "repo_path",
    "resolve_source",
    "run_checks",
    "run_container_check",
    "run_http_check",
    "run_http_checks",
    "split_checks",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'fluxgate.stage' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fluxgate.stage.{module}"), name)
    globals()[name] = value
    return value
