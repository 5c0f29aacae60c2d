"""The `ci` flow on the session's Prefect server, with a fake Docker engine: the first run builds every
component and remembers the build; the next push builds only what it touched and keeps the rest;
a template that no longer renders fails the run with one line and remembers nothing."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest
from typer.testing import CliRunner

from fluxgate.ci import CiOutcome, LastBuild, last_build_name
from fluxgate.cli import app
from fluxgate.errors import FluxgateError
from tests.ci.conftest import CONFIG, CodeRepo
from tests.ci.engine import FakeEngine

pytest.importorskip("prefect")

_apps = itertools.count(1)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    import tasks.ci

    fake = FakeEngine()
    monkeypatch.setattr(tasks.ci, "docker_api", lambda: fake)
    return fake


@pytest.fixture
def prefect(prefect_api: str) -> Iterator[None]:
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_api, PREFECT_LOGGING_TO_API_ENABLED: False}):
        yield


@pytest.fixture
def app_name(code_repo: CodeRepo) -> str:
    """An app of its own per test: the session's server keeps one last build per app."""
    name = f"shop-ci-{next(_apps)}"
    code_repo.commit({"fluxgate.yaml": CONFIG.replace("app: shop", f"app: {name}")}, "name the app")
    return name


def _run(code_repo: CodeRepo) -> tuple[CiOutcome, Any]:
    from flows.ci import ci

    state = ci(config=str(code_repo.root / "fluxgate.yaml"), push=False, start_stage=False, return_state=True)
    return state.result(), state.state_details.flow_run_id


def _recorded(app_name: str) -> LastBuild | None:
    from prefect.variables import Variable

    value = Variable.get(last_build_name(app_name))
    return LastBuild.model_validate(value) if value is not None else None


def _artifacts(run_id: Any) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    return {str(a.key): str(a.data) for a in found}


@pytest.mark.usefixtures("prefect")
def test_the_second_push_builds_only_the_worker_and_keeps_the_web_image(
    code_repo: CodeRepo, app_name: str, engine: FakeEngine
) -> None:
    first, first_run = _run(code_repo)
    head1 = _recorded(app_name)

    assert first.built == ["api", "web", "worker"]
    assert head1 is not None and head1.images == first.images
    assert sorted(engine.images) == sorted(first.images.values())
    assert f"| web | `ghcr.io/acme/web:{first.version}` | built (first build) |" in (
        _artifacts(first_run)[f"{app_name}-ci-release"]
    )

    head2 = code_repo.commit({"services/worker/job.py": "print('worker 2')\n"})
    second, second_run = _run(code_repo)

    assert second.built == ["worker"]
    assert second.kept == ["api", "web"]
    assert second.version == head2[:7]
    assert second.images == {**first.images, "worker": f"ghcr.io/acme/worker:{head2[:7]}"}
    assert f"ghcr.io/acme/worker:{head2[:7]}" in engine.images
    assert len(engine.images) == 4
    assert _recorded(app_name) == LastBuild(commit=head2, images=second.images)
    artifacts = _artifacts(second_run)
    assert "| worker | yes | `services/worker/job.py` |" in artifacts[f"{app_name}-ci-changes"]
    assert "| web | no | no file of it changed |" in artifacts[f"{app_name}-ci-changes"]
    assert f"| web | `{first.images['web']}` | kept |" in artifacts[f"{app_name}-ci-release"]


@pytest.mark.usefixtures("prefect")
def test_fluxgate_ci_prints_what_it_built_and_kept(
    code_repo: CodeRepo, app_name: str, engine: FakeEngine
) -> None:
    first, _ = _run(code_repo)
    head = code_repo.commit({"services/web/app.py": "print('web 2')\n"})
    config = str(code_repo.root / "fluxgate.yaml")

    dry = CliRunner().invoke(app, ["ci", "-c", config, "--dry-run"])
    result = CliRunner().invoke(app, ["ci", "-c", config, "--no-push", "--no-stage"])

    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines()[0] == f"changed (since {_parent(code_repo, head)[:12]}): web"
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"release {app_name}@{head[:7]} (templates sha256:")
    assert f"  api     {first.images['api']}  (kept)" in lines
    assert f"  web     ghcr.io/acme/web:{head[:7]}  (built: changed: services/web/app.py)" in lines
    web = f"ghcr.io/acme/web:{head[:7]}"
    assert _recorded(app_name) == LastBuild(commit=head, images={**first.images, "web": web})


def _parent(code_repo: CodeRepo, head: str) -> str:
    with git.Repo(code_repo.path) as repo:
        return repo.commit(head).parents[0].hexsha


@pytest.mark.usefixtures("prefect")
def test_a_template_that_no_longer_renders_fails_the_run_and_records_nothing(
    code_repo: CodeRepo, app_name: str, engine: FakeEngine, prefect_api: str
) -> None:
    code_repo.commit({"deploy/images.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n"})

    with pytest.raises(FluxgateError) as caught:
        _run(code_repo)

    failure = "deploy/images.yaml:4: invalid YAML: expected ',' or ']', but got '<stream end>'"
    assert str(caught.value) == failure
    config = str(code_repo.root / "fluxgate.yaml")
    # the console script as a user runs it: Prefect's own log lines, but no traceback for a user error
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_TO_API_ENABLED": "false"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "fluxgate"), "ci", "-c", config, "--no-push", "--no-stage"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == f"error: {failure}"
    assert "Traceback" not in result.stderr, result.stderr
    assert _recorded(app_name) is None
    assert engine.images == {}
