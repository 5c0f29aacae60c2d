"""`fluxgate render` writes a validated manifest set, or prints it, through the console script."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import EXAMPLES, Run

SHOP = EXAMPLES / "shop" / "fluxgate.yaml"


@pytest.mark.console_script  # the README promises the console script
def test_render_writes_every_object_under_the_env_folder(fluxgate: Run, tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    result = fluxgate(
        "render", "-c", str(SHOP), "--env", "dev", "-i", "web=1.4.2", "-i", "worker=1.4.2", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "rendered 10 objects of shop@1.4.2 for dev" in result.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.yaml"))
    assert "dev/shop-dev/deployment-shop-web.yaml" in files
    assert "dev/shop-dev/ingress-shop-web.yaml" in files
    assert "hld/dev/release.yaml" in files
    deployment = yaml.safe_load((out / "dev/shop-dev/deployment-shop-web.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/acme/shop-web:1.4.2"
    assert deployment["metadata"]["namespace"] == "shop-dev"


def test_environments_differ_as_their_config_says(fluxgate: Run, tmp_path: Path) -> None:
    out = tmp_path / "m"
    for env in ("dev", "prod"):
        result = fluxgate(
            "render", "-c", str(SHOP), "--env", env, "-i", "web=2.0.0", "-i", "worker=2.0.0", "-o", str(out)
        )
        assert result.returncode == 0, result.stderr
    dev = yaml.safe_load((out / "dev/shop-dev/ingress-shop-web.yaml").read_text())
    prod = yaml.safe_load((out / "prod/shop-prod/ingress-shop-web.yaml").read_text())
    assert dev["spec"]["rules"][0]["host"] == "shop.dev.example.com"
    assert prod["spec"]["rules"][0]["host"] == "shop.example.com"
    prod_web = yaml.safe_load((out / "prod/shop-prod/deployment-shop-web.yaml").read_text())
    env_names = [e["name"] for e in prod_web["spec"]["template"]["spec"]["containers"][0]["env"]]
    assert "ENABLE_PROFILING" in env_names  # the prod overlay, merged into container `web` by name


def test_a_second_render_replaces_the_folder_and_drops_stale_files(fluxgate: Run, tmp_path: Path) -> None:
    out = tmp_path / "m"
    stale = out / "dev" / "shop-dev" / "deployment-old.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: old}\n")
    (out / "README.md").write_text("kept\n")
    result = fluxgate(
        "render", "-c", str(SHOP), "-e", "dev", "-i", "web=1.0.0", "-i", "worker=1.0.0", "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert (out / "README.md").read_text() == "kept\n"
    assert not list(out.glob(".fluxgate-*"))


def test_render_without_out_prints_a_yaml_stream_with_sources(fluxgate: Run) -> None:
    result = fluxgate("render", "-c", str(SHOP), "--env", "staging", "-i", "web=1.4.2", "-i", "worker=1.4.2")
    assert result.returncode == 0, result.stderr
    assert "# Source: staging/shop-staging/deployment-shop-web.yaml" in result.stdout
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    kinds = sorted(d["kind"] for d in docs if "apiVersion" in d)
    assert kinds.count("Deployment") == 2 and "Ingress" in kinds


def test_config_is_found_from_the_working_directory(fluxgate: Run) -> None:
    result = fluxgate("render", "--env", "dev", "-i", "hello=0.3.0", cwd=EXAMPLES / "hello" / "manifests")
    assert result.returncode == 0, result.stderr
    assert "# Source: dev/hello-dev/deployment-hello.yaml" in result.stdout
    assert "replicas: 1\n" in result.stdout
