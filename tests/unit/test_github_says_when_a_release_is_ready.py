"""Which GitHub deliveries start a release's first stage, and which release they name, from GitHub's
own webhook examples adapted to the app's code repo."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fluxgate.config import PipelineConfig, load_config
from fluxgate.connector.github_events import parse_github_event
from fluxgate.connector.triggers import NotARelease, plan_release
from fluxgate.errors import UsageError
from tests.cli.conftest import EXAMPLES
from tests.unit.test_github_webhooks_become_facts import example


@pytest.fixture
def shop(tmp_path: Any) -> PipelineConfig:
    text = (EXAMPLES / "shop" / "fluxgate.yaml").read_text()
    text += "\ncode_repo: acme/shop\ntriggers:\n  workflow: ci.yml\n  release: true\n"
    (tmp_path / "fluxgate.yaml").write_text(text)
    return load_config(tmp_path / "fluxgate.yaml")


def _fact(event: str, payload: dict[str, Any]) -> Any:
    payload["repository"]["full_name"] = "acme/shop"
    fact = parse_github_event(event, json.dumps(payload).encode())
    assert fact is not None
    return fact


def _workflow_run(conclusion: str = "success", branch: str = "main", path: str = ".github/workflows/ci.yml"
                  ) -> Any:
    payload = example("workflow_run", "completed")
    payload["workflow_run"] |= {"conclusion": conclusion, "head_branch": branch, "path": path,
                                "head_sha": "4c2f1e9b8a7d6c5b4a3928171615141312111009"}
    return _fact("workflow_run", payload)


def test_a_green_ci_run_on_main_releases_its_commit(shop: PipelineConfig) -> None:
    config, release, ref = plan_release([shop], _workflow_run())
    assert config is shop and release.version == "4c2f1e9"
    assert ref == "4c2f1e9b8a7d6c5b4a3928171615141312111009"  # the stage renders the commit CI built
    assert release.images == {
        "web": "ghcr.io/acme/shop-web:4c2f1e9", "worker": "ghcr.io/acme/shop-worker:4c2f1e9"
    }


@pytest.mark.parametrize(
    ("fact", "why"),
    [
        (lambda: _workflow_run(conclusion="failure"), "completed: failure"),
        (lambda: _workflow_run(branch="feature/x"), "ran on feature/x, not main"),
        (lambda: _workflow_run(path=".github/workflows/lint.yml"), "is not the CI workflow of shop"),
    ],
)
def test_other_runs_release_nothing_and_say_why(shop: PipelineConfig, fact: Any, why: str) -> None:
    with pytest.raises(NotARelease, match=why):
        plan_release([shop], fact())


def test_a_published_release_releases_its_tag_and_a_draft_does_not(shop: PipelineConfig) -> None:
    payload = example("release", "published")
    payload["release"] |= {"tag_name": "v1.4.2", "draft": False}
    _config, release, ref = plan_release([shop], _fact("release", payload))
    assert release.version == "1.4.2" and release.images["web"] == "ghcr.io/acme/shop-web:1.4.2"
    assert ref == "refs/tags/v1.4.2"
    payload["release"]["draft"] = True
    payload["action"] = "created"
    with pytest.raises(NotARelease, match="created"):
        plan_release([shop], _fact("release", payload))


def test_a_dispatch_names_version_and_images_and_a_bad_one_is_refused(shop: PipelineConfig) -> None:
    payload = example("repository_dispatch")
    payload["action"] = "fluxgate.deploy"
    payload["client_payload"] = {"version": "2.0.0", "images": {"web": "2.0.0", "worker": "1.9.3"}}
    _config, release, ref = plan_release([shop], _fact("repository_dispatch", payload))
    assert release.version == "2.0.0" and release.images["worker"] == "ghcr.io/acme/shop-worker:1.9.3"
    assert ref == "main"  # triggers.branch, unless the payload names a ref
    payload["client_payload"]["ref"] = "v2.0.0"
    assert plan_release([shop], _fact("repository_dispatch", payload)).ref == "v2.0.0"
    payload["client_payload"]["ref"] = 7
    with pytest.raises(NotARelease, match='optionally "ref"'):
        plan_release([shop], _fact("repository_dispatch", payload))
    payload["client_payload"] = {"version": "2.0.0"}
    with pytest.raises(NotARelease, match="client_payload needs"):
        plan_release([shop], _fact("repository_dispatch", payload))
    payload["client_payload"] = {"version": "2.0.0", "images": {"web": "2.0.0"}}
    with pytest.raises(UsageError, match="worker"):
        plan_release([shop], _fact("repository_dispatch", payload))


def test_another_repository_releases_nothing(shop: PipelineConfig) -> None:
    fact = _workflow_run()
    with pytest.raises(NotARelease, match="acme/shop is not the code repo"):
        plan_release([shop.model_copy(update={"code_repo": "acme/other"})], fact)
