"""The `ci` flow hands its release to the first stage with the commit it built and the template digest
it computed: the stage run's parameters name both, so the stage renders exactly what CI validated,
however far the branch has moved when the stage gets to run. A nested fluxgate.yaml (a monorepo) is
found at its path in the repository."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluxgate.sandbox.github import RunningEmulator
from tests.ci.conftest import CONFIG, make_repo
from tests.ci.engine import FakeEngine
from tests.conftest import TOKEN

pytest.importorskip("prefect")

_apps = itertools.count(1)


@pytest.fixture
def prefect_with_stage(
    prefect_api: str, github: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    import tasks.ci

    monkeypatch.setattr(tasks.ci, "docker_api", lambda: FakeEngine())
    for name, value in {"FLUXGATE_GITHUB__API_URL": github.url, "FLUXGATE_GITHUB__TOKEN": TOKEN,
                        "PREFECT_API_URL": prefect_api}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with temporary_settings({PREFECT_API_URL: prefect_api, PREFECT_LOGGING_TO_API_ENABLED: False}):
        from flows.deploy_stage import deploy_stage
        from fluxgate.stage import FLOW_NAME

        deploy_stage.to_deployment(name=FLOW_NAME).apply()
        yield


@pytest.mark.usefixtures("prefect_with_stage")
def test_the_first_stage_renders_the_commit_ci_built(tmp_path: Path, github: RunningEmulator) -> None:
    from flows.ci import ci
    from fluxgate.prefect_api import connect
    from fluxgate.runs import stage_runs

    app = f"shop-ci-stage-{next(_apps)}"
    repo = f"acme/{app}"
    code, _ = make_repo(tmp_path / "code", prefix="apps/shop")
    config = CONFIG.replace("app: shop", f"app: {app}") + f"code_repo: {repo}\n"
    head = code.commit({"fluxgate.yaml": config}, "name the app")
    github.emulator.create_repo(repo, files={"README.md": "# code\n"})
    subprocess.run(
        ["git", "-c", f"http.extraHeader=Authorization: token {TOKEN}", "push", "--quiet", "--force",
         f"{github.url}/{repo}.git", "HEAD:refs/heads/main"],
        cwd=code.path, check=True, capture_output=True, timeout=60,
    )  # fmt: skip

    state = ci(config=str(code.root / "fluxgate.yaml"), push=False, start_stage=True, return_state=True)
    outcome = state.result()
    with connect() as api:
        [run] = stage_runs(api, app, env="dev")
    assert str(run.id) == outcome.stage_run
    source = run.request.source
    assert (source.repo, source.commit, source.path) == (repo, head, "apps/shop/fluxgate.yaml")
    assert source.digest == outcome.digest  # what CI validated is what the stage renders
