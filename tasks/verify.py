"""verify_environment: the environment's post-deploy checks, published as a Prefect table."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact

from fluxgate.stage import CheckResult, StageRequest, run_http_checks
from tasks.context import config_of

__all__ = ["verify_environment"]


@task(name="verify", persist_result=True)
def verify_environment(request: StageRequest) -> list[CheckResult]:
    """Run the environment's HTTP checks (each retried until its deadline); none configured: no checks."""
    checks = config_of(request).environment(request.env).verification
    results = run_http_checks(checks)
    if results:
        create_table_artifact(
            [r.model_dump() for r in results],
            key=f"{request.app}-{request.env}-verification",
            description=f"Post-deploy checks of {request.run_name}",
        )
    return results
