"""The stage core without Prefect: where a release goes next, how runs and waits are named, and what
post-deploy HTTP checks report against a real local service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxgate.config import HttpCheck, PipelineConfig, load_config
from fluxgate.connector.triggers import DISPATCH_EVENT
from fluxgate.stage import FLOW_NAME, PauseKey, StageRequest, Wait, next_step, run_http_checks
from tests.cli.conftest import EXAMPLES
from tests.http_service import scripted_service

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def shop() -> PipelineConfig:
    return load_config(EXAMPLES / "shop" / "fluxgate.yaml")


def test_auto_promoting_environments_promote_and_the_rest_say_the_command(shop: PipelineConfig) -> None:
    assert next_step(shop, "dev", "1.4.2").model_dump() == {
        "kind": "promote", "env": "staging", "message": "promoting shop@1.4.2 to staging"
    }
    manual = shop.model_copy(
        update={"environments": [shop.environments[0].model_copy(update={"auto_promote": False}),
                                 *shop.environments[1:]]}
    )
    command = "fluxgate promote shop@1.4.2 --to staging"
    assert next_step(manual, "dev", "1.4.2").message == f"promote by hand: {command}"
    assert next_step(shop, "prod", "1.4.2").kind == "last"


def test_runs_and_waits_are_named_per_the_contract() -> None:
    source = {"repo": "acme/shop", "commit": "a" * 40}
    request = StageRequest(app="shop", version="1.4.2", env="dev", images={"web": "w:1"}, source=source)
    assert request.run_name == "shop@1.4.2 -> dev"
    assert request.to("staging").run_name == "shop@1.4.2 -> staging"
    configured = request.model_copy(update={"configs": {"acme/shop-config": "b" * 40}})
    assert configured.run_name == "shop@1.4.2 (config bbbbbbb) -> dev"
    assert configured.to("staging").configs == {}  # the next environment pins its own
    keys = [str(PauseKey(wait=Wait.FLUX, attempt=n)) for n in (1, 2, 3)]
    assert keys == ["await-flux", "await-flux-2", "await-flux-3"]


@pytest.fixture
def service() -> Iterator[tuple[str, list[tuple[int, str]]]]:
    with scripted_service() as running:
        yield running


def test_a_check_passes_after_a_slow_start_and_fails_with_what_it_last_saw(service: Any) -> None:
    url, script = service
    script += [(503, "starting"), (503, "starting"), (200, "ok: shop 1.4.2")]
    slept: list[float] = []
    [passed] = run_http_checks([HttpCheck(url=url, contains="1.4.2", deadline="1m")], sleep=slept.append)
    assert passed.passed and passed.attempts == 3 and slept == [0.5, 1.0]
    assert passed.detail == "HTTP 200, body contains '1.4.2'"
    script[:] = [(200, "ok: shop 1.4.1")]
    [failed] = run_http_checks([HttpCheck(name="version", url=url, contains="1.4.2", deadline="2s")],
                               sleep=lambda _s: None)
    assert not failed.passed and failed.name == "version"
    assert failed.detail == "HTTP 200 but the body does not contain '1.4.2'"


def test_an_unreachable_service_fails_its_check_in_one_line() -> None:
    [result] = run_http_checks([HttpCheck(url="http://127.0.0.1:9/health", deadline="0s")])
    assert not result.passed and result.detail.startswith("ConnectError: ") and "\n" not in result.detail


def test_the_example_ci_workflow_hands_the_release_to_fluxgate(shop: PipelineConfig) -> None:
    workflow = yaml.safe_load((REPO / "examples" / "github-actions" / "ci.yml").read_text())
    script = workflow["jobs"]["release"]["steps"][-1]["run"]
    assert f"event_type={DISPATCH_EVENT}" in script
    assert sorted(c for c in shop.components if f"[images][{c}]" in script) == sorted(shop.components)


def test_the_prefect_yaml_deploys_the_stage_flow_from_the_installed_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.flows import load_flow_from_entrypoint

    spec = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text())
    assert "pull" not in spec  # no checkout to change into: the worker has the package, nothing else
    monkeypatch.chdir(tmp_path)
    for deployment in spec["deployments"]:
        assert not deployment["entrypoint"].endswith(".py") and ".py:" not in deployment["entrypoint"]
        assert load_flow_from_entrypoint(deployment["entrypoint"]).name == FLOW_NAME
    assert spec["deployments"][0]["name"] == FLOW_NAME
