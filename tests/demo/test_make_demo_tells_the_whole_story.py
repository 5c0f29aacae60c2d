"""`make demo`, exactly as a new user runs it, and then GitHub as it is left behind.

The demo keeps its data folder (`--data`), so after it ends the emulated GitHub is opened again
from its saved state and read through the REST API: what a user would find in GitHub is what the
test asserts, not what the demo printed about itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxgate.sandbox.demo.project import checkout
from fluxgate.sandbox.github import start_in_thread
from fluxgate.sandbox.stack import TOKEN

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/shop-manifests"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420), pytest.mark.xdist_group("demo")]  # one demo run


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    data = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FLUXGATE_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    result = subprocess.run(
        ["make", "-s", "demo", f"DEMO_ARGS=--data {data}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    return result, data


@pytest.fixture(scope="module")
def github(demo: tuple[subprocess.CompletedProcess[str], Path]) -> Iterator[httpx.Client]:
    result, data = demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    running = start_in_thread(data / "github")
    with httpx.Client(base_url=f"{running.url}/repos/{REPO}", headers={"Authorization": f"token {TOKEN}"},
                      timeout=10) as client:  # fmt: skip
        yield client
    running.stop()


def _get(client: httpx.Client, path: str, **params: str) -> Any:
    answer = client.get(path, params={"per_page": "100", **params})
    answer.raise_for_status()
    return answer.json()


def _pulls(client: httpx.Client) -> dict[str, dict[str, Any]]:
    """Every PR, read one by one: only the full PR says who merged it (as on GitHub)."""
    listed = _get(client, "/pulls", state="all")
    return {p["title"]: _get(client, f"/pulls/{p['number']}") for p in listed}


Demo = tuple[subprocess.CompletedProcess[str], Path]


def test_the_demo_prints_its_story_and_where_to_look(demo: Demo) -> None:
    result, _ = demo
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "shop@1.0.0 is live and healthy in dev, staging, prod (jane-ops approved prod)." in out
    assert "shop@1.1.0 reached dev, then failed in staging: " in out
    assert "Prefect UI: http://127.0.0.1:" in out
    assert "Deploy shop 1.0.0 to prod" in out  # the PR the reviewer read, with its change summary
    assert "ghcr.io/acme/shop-web:1.0.0" in out
    assert "Traceback" not in out + result.stderr


def test_every_pull_request_was_merged_and_prod_by_its_reviewer(github: httpx.Client) -> None:
    pulls = _pulls(github)
    assert sorted(pulls) == sorted([
        "Deploy shop 1.0.0 to dev", "Deploy shop 1.0.0 to staging", "Deploy shop 1.0.0 to prod",
        "Deploy shop 1.1.0 to dev", "Deploy shop 1.1.0 to staging",
        "Roll back shop in staging to 1.0.0 (from 1.1.0)",
    ])  # fmt: skip
    assert all(p["merged_at"] for p in pulls.values()), {t: p["state"] for t, p in pulls.items()}
    prod = pulls["Deploy shop 1.0.0 to prod"]
    assert prod["merged_by"]["login"] == "jane-ops"
    reviews = _get(github, f"/pulls/{prod['number']}/reviews")
    assert [(r["user"]["login"], r["state"]) for r in reviews] == [("jane-ops", "APPROVED")]
    assert {p["merged_by"]["login"] for t, p in pulls.items() if "prod" not in t} == {"fluxgate-bot"}


def test_each_promotion_has_a_deployment_that_ends_as_its_stage_did(github: httpx.Client) -> None:
    pulls = _pulls(github)
    deployments = _get(github, "/deployments")

    def ended(title: str) -> tuple[str, str]:
        pr = pulls[title]
        mine = [d for d in deployments if d["sha"] == pr["head"]["sha"]]
        assert len(mine) == 1, f"{title}: {len(mine)} deployments of its head"
        return mine[0]["environment"], _get(github, f"/deployments/{mine[0]['id']}/statuses")[0]["state"]

    assert ended("Deploy shop 1.0.0 to prod") == ("prod", "success")
    assert ended("Deploy shop 1.1.0 to dev") == ("dev", "success")
    assert ended("Deploy shop 1.1.0 to staging") == ("staging", "failure")
    assert ended("Roll back shop in staging to 1.0.0 (from 1.1.0)") == ("staging", "success")
    # an older success is marked inactive by the newer one, as GitHub does (auto_inactive)
    assert ended("Deploy shop 1.0.0 to staging")[1] in ("success", "inactive")


def test_flux_health_became_commit_statuses_on_the_merged_commits(github: httpx.Client) -> None:
    """Every cluster reconciles every commit of the shared branch: each reports its own status."""
    pulls = _pulls(github)

    def contexts(title: str, env: str) -> dict[str, str]:
        status = _get(github, f"/commits/{pulls[title]['merge_commit_sha']}/status")
        mine = [s for s in status["statuses"] if s["context"].startswith(f"fluxgate/{env}/")]
        return {s["context"]: s["state"] for s in mine}

    assert contexts("Deploy shop 1.0.0 to prod", "prod") == {
        "fluxgate/prod/prod-eu": "success",
        "fluxgate/prod/prod-us": "success",
    }
    staging = "fluxgate/staging/staging-eu"
    assert contexts("Deploy shop 1.1.0 to staging", "staging") == {staging: "failure"}
    assert contexts("Roll back shop in staging to 1.0.0 (from 1.1.0)", "staging") == {staging: "success"}


def test_staging_runs_the_old_web_image_again_and_prod_never_saw_the_new_one(
    github: httpx.Client, tmp_path: Path
) -> None:
    clone = tmp_path / "manifests"
    checkout(str(github.base_url).split("/repos/")[0], REPO, TOKEN, clone)

    def web_image(env: str) -> str:
        text = (clone / env / f"shop-{env}" / "deployment-shop-web.yaml").read_text()
        return next(line.split("image:")[1].strip() for line in text.splitlines() if "image:" in line)

    assert web_image("staging") == "ghcr.io/acme/shop-web:1.0.0"
    assert web_image("prod") == "ghcr.io/acme/shop-web:1.0.0"
    assert web_image("dev") == "ghcr.io/acme/shop-web:1.1.0"
