"""A stage renders exactly its release: fluxgate.yaml and the templates at the commit the release was
built from, each config repository at the commit pinned when the stage was created. A promotion days
later, a retry and a re-render by hand produce the same bytes, whatever moved on the branches since;
and what was rendered is written everywhere a person looks."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.pipeline.conftest import Stage

_configs = itertools.count(1)
IMAGES = ("web", "worker")


def _cli(stage: Stage, *args: str) -> Any:
    from fluxgate.cli import app

    return CliRunner().invoke(app, [*args, "-c", str(stage.config)])


def _images(version: str) -> list[str]:
    return [arg for name in IMAGES for arg in ("--image", f"{name}=ghcr.io/acme/shop-{name}:{version}")]


def _runs(env: str, version: str) -> list[Any]:
    from fluxgate.prefect_api import connect
    from fluxgate.runs import stage_runs

    with connect() as api:
        return stage_runs(api, "shop", version, env)


def _manifests(stage: Stage, folders: tuple[str, ...]) -> dict[str, bytes]:
    """The files under `folders` on the manifests repo's main branch, as Flux would read them."""
    base = stage.gateway().snapshot(stage.repo, "main")
    return {
        path: subprocess.run(
            ["git", f"--git-dir={base.git_dir}", "cat-file", "blob", blob], capture_output=True, check=True
        ).stdout
        for path, blob in base.files.items()
        if path.startswith(folders) and not path.endswith(".fluxgate-files")
    }


def _written(root: Path, folders: tuple[str, ...]) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and str(p.relative_to(root)).startswith(folders)
    }


def _soak_free(stage: Stage) -> None:
    stage.config.write_text(stage.config.read_text().replace("soak: 5m", "soak: 0s"))


def test_a_promotion_later_renders_the_commit_the_release_was_built_from(
    stage: Stage, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    run = stage.create(stage.request(version="6.0.0"))
    built = run.request.source.commit
    stage.rolled_out(run)
    assert stage.execute(run).is_completed()
    with get_client(sync_client=True) as client:  # the stage's report in the Prefect UI
        [artifact] = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["shop-dev-stage"])),
        )
    assert f"`code {run.request.source.repo}@{built} (fluxgate.yaml)`" in str(artifact.data)

    # main moves on: a template change lands after 6.0.0 was built
    template = stage.config.parent / "deploy" / "main.jsonnet"
    text = template.read_text().replace("LOG_LEVEL: values.logLevel,", "LOG_LEVEL: 'changed-later',")
    template.write_text(text)
    later = stage.publish()["commit"]
    assert later != built

    [staging] = _runs("staging", "6.0.0")
    assert staging.request.source.commit == built
    assert stage.execute(staging) is None and stage.pause_key(staging) == "await-flux"  # merged by itself
    folders = ("staging/", "hld/staging/")
    deployed = _manifests(stage, folders)
    assert deployed and not any(b"changed-later" in data for data in deployed.values())
    assert any(b"LOG_LEVEL: info" in data for data in deployed.values())

    # everywhere a person looks: the PR (body and marker), the Deployment, the run's parameters
    pr = stage.api(f"/pulls/{stage.tags(staging).pr.number}")
    code = f"{staging.request.source.repo}@{built}"
    assert f"`code {code} (fluxgate.yaml)`" in pr["body"]
    assert f"`templates {staging.request.source.digest}`" in pr["body"]
    marker = json.loads(re.search(r"<!-- fluxgate:promotion (\{.*?\}) -->", pr["body"]).group(1))
    assert marker["code"] == code and marker["digest"] == staging.request.source.digest
    [deployment] = stage.api("/deployments?environment=staging")
    assert deployment["payload"]["code"] == {"repo": staging.request.source.repo, "commit": built,
                                             "path": "fluxgate.yaml"}
    assert stage.read(staging).parameters["request"]["source"]["commit"] == built

    # `fluxgate status` names the commits and the command that renders the stage again, byte for byte
    status = _cli(stage, "status", "shop@6.0.0")
    assert status.exit_code == 0, status.output
    assert f"code {code} (fluxgate.yaml)" in status.output
    again = next(
        line
        for line in status.output.splitlines()
        if line.strip().startswith("again: fluxgate render --env staging")
    )
    command = again.split("again: ", 1)[1].split()
    assert command[:4] == ["fluxgate", "render", "--env", "staging"] and built in command
    out = tmp_path / "again"
    result = _cli(stage, *command[1:], "--out", str(out))
    assert result.exit_code == 0, result.output
    assert _written(out, folders) == deployed

    # rendering main today does differ: the pin is what kept the promotion on 6.0.0's templates
    today = _cli(stage, "render", "--env", "staging", "--ref", later, *_images("6.0.0"), "--version", "6.0.0")
    assert today.exit_code == 0 and "changed-later" in today.stdout


def _config_repo(stage: Stage, envs: tuple[str, ...]) -> str:
    """A config repository with one folder per environment, read by `envs` instead of the code repo."""
    repo = f"acme/shop-config-{next(_configs)}"
    examples = stage.config.parent / "config"
    files: dict[str, str | bytes] = {
        f"{env}/values.yaml": (examples / env / "values.yaml").read_text() for env in envs
    }
    stage.github.emulator.create_repo(repo, files=files)
    text = stage.config.read_text()
    for env in envs:
        pinned_here = f"      repo: {repo}\n      path: {env}\n      ref: main\n"
        text = text.replace(f"      path: config/{env}\n", pinned_here)
    stage.config.write_text(text)
    return repo


def _set_log_level(stage: Stage, repo: str, env: str, level: str) -> str:
    values = (stage.config.parent / "config" / env / "values.yaml").read_text()
    values = re.sub(r"logLevel: \w+", f"logLevel: {level}", values)
    return stage.github.emulator.commit_files(repo, "main", {f"{env}/values.yaml": values}, f"{env}: {level}",
                                              author="acme")


def test_a_config_only_change_is_a_new_release_promoted_with_its_config(stage: Stage) -> None:
    _soak_free(stage)
    repo = _config_repo(stage, ("dev", "staging"))
    stage.publish()

    first = _cli(stage, "deploy", "--env", "dev", *_images("7.0.0"))
    assert first.exit_code == 0, first.output
    [dev] = _runs("dev", "7.0.0")
    pinned = dev.request.configs[repo]
    assert dev.name == f"shop@7.0.0 (config {pinned[:7]}) -> dev"
    stage.rolled_out(dev)
    assert stage.execute(dev).is_completed()
    [staging] = _runs("staging", "7.0.0")
    assert staging.request.configs == {repo: pinned}  # one repository, one branch: the same commit
    assert stage.execute(staging) is None
    sha = stage.tags(staging).sha
    stage.flux_ready(sha, env="staging", cluster="staging-eu")
    stage.wait_resumed(staging)
    assert stage.execute(staging).is_completed()

    again = _cli(stage, "deploy", "--env", "dev", *_images("7.0.0"))
    assert again.exit_code == 2 and "already deployed to dev from these commits" in again.output

    # the config repository changes, the images do not: a new release of the same version
    for env in ("dev", "staging"):
        changed = _set_log_level(stage, repo, env, "warning")
    third = _cli(stage, "deploy", "--env", "dev", *_images("7.0.0"))
    assert third.exit_code == 0, third.output
    newer = [r for r in _runs("dev", "7.0.0") if r.request.configs[repo] == changed]
    assert [r.name for r in newer] == [f"shop@7.0.0 (config {changed[:7]}) -> dev"]
    stage.rolled_out(newer[0], stamp="10:05")
    assert stage.execute(newer[0]).is_completed()

    promoted = [r for r in _runs("staging", "7.0.0") if r.request.configs[repo] == changed]
    assert len(promoted) == 1
    assert stage.execute(promoted[0]) is None
    pr = stage.api(f"/pulls/{stage.tags(promoted[0]).pr.number}")
    assert pr["title"] == f"Deploy shop 7.0.0 to staging with config {repo}@{changed[:7]}"
    body = pr["body"]
    assert f"`config {repo}@{changed}`" in body
    summary = body.split("**Rendered from**")[0]
    assert "**0 added, 4 changed, 0 removed, 6 unchanged**" in summary
    fields = {row.split("|")[5].strip() for row in summary.splitlines() if row.startswith("| ✏️ changed")}
    assert fields == {"`data.LOG_LEVEL`", "`spec.template.metadata.annotations.checksum/config`"}
    assert "ghcr.io/" not in summary  # no image changes: the same images, new config


def test_a_retry_renders_the_config_commit_pinned_at_the_start(stage: Stage) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    from fluxgate.sandbox.github.emulator import Fault

    repo = _config_repo(stage, ("dev",))
    stage.publish()
    pinned = _set_log_level(stage, repo, "dev", "notice")
    result = _cli(stage, "deploy", "--env", "dev", *_images("8.0.0"))
    assert result.exit_code == 0, result.output
    [run] = _runs("dev", "8.0.0")
    assert run.request.configs == {repo: pinned}

    # the first attempt cannot read the manifests repository; meanwhile the config moves on
    stage.github.emulator.inject(Fault(status=403, path=rf"/{stage.repo}\.git/", times=1))
    failed = stage.execute(run)
    assert failed is not None and failed.is_failed(), failed
    _set_log_level(stage, repo, "dev", "error")

    with get_client(sync_client=True) as client:  # "Retry" in the Prefect UI
        client.set_flow_run_state(run.id, Scheduled(), force=True)
    assert stage.execute(run) is None and stage.pause_key(run) == "await-merge"
    pr = stage.api(f"/pulls/{stage.tags(run).pr.number}")
    assert f"`config {repo}@{pinned}`" in pr["body"]
    proposed = stage.gateway().source(stage.repo, pr["head"]["sha"]).root / "dev"
    text = "".join(p.read_text() for p in proposed.rglob("*.yaml"))
    assert "LOG_LEVEL: notice" in text and "LOG_LEVEL: error" not in text


def test_a_source_that_cannot_be_read_fails_the_stage_in_one_line(stage: Stage) -> None:
    source = stage.publish()
    pulls = len(stage.api("/pulls?state=all"))
    cases = {
        "no such commit": ({**source, "commit": "3" * 40}, f"{source['repo']} has no commit {'3' * 40}"),
        "unreadable repository": (
            {**source, "repo": "acme/nobody-knows"},
            "git fetch of acme/nobody-knows: repository not found or not visible to the token",
        ),
        "no fluxgate.yaml there": (
            {**source, "path": "nested/fluxgate.yaml"},
            f"{source['repo']}@{source['commit'][:12]}: no nested/fluxgate.yaml at this commit",
        ),
    }
    for version, (what, (bad, message)) in zip(("9.0.1", "9.0.2", "9.0.3"), cases.items(), strict=True):
        run = stage.create(stage.request(version=version) | {"source": bad})
        final = stage.execute(run)
        assert final is not None and final.is_failed(), what
        assert final.message == message, what
        assert "\n" not in final.message
    assert len(stage.api("/pulls?state=all")) == pulls  # nothing opened
    assert stage.api("/deployments?environment=dev") == []

    wrong = _cli(stage, "deploy", "--env", "dev", "--ref", "no-such-branch", *_images("9.0.4"))
    assert wrong.exit_code == 2
    said = wrong.output.strip().splitlines()[-1]
    assert said == f"error: {source['repo']} has no branch or tag 'no-such-branch'"
