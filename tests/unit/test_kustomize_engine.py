"""Kustomize bases get the release's images without editing the base, or fail with a clear reason."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from projects import deployment, render, write_project

from fluxgate.errors import TemplateError, ToolMissing

KUSTOMIZE = {"templates": {"engine": "kustomize", "path": "base"}}
DIGEST = "sha256:" + "cd" * 32

needs_kustomize = pytest.mark.skipif(
    not (shutil.which("kustomize") or shutil.which("kubectl")),
    reason="neither `kustomize` nor `kubectl` is on PATH",
)


def base(tmp_path: Path) -> Path:
    """A base whose Deployment names the configured repository with no tag, as kustomize users do."""
    write_project(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [deployment.yaml]\n",
            "base/deployment.yaml": deployment(image="ghcr.io/acme/web"),
        },
        KUSTOMIZE,
    )
    return tmp_path


def rendered_container(tmp_path: Path, images: list[str], version: str | None = None) -> dict[str, Any]:
    objects = render(base(tmp_path), images=images, version=version).manifests.objects
    [container] = objects["dev/demo-dev/deployment-web.yaml"]["spec"]["template"]["spec"]["containers"]
    return container


@needs_kustomize
@pytest.mark.slow
def test_the_release_tag_is_set_on_the_untagged_base_image(tmp_path: Path) -> None:
    assert rendered_container(tmp_path, ["web=1.4.2"])["image"] == "ghcr.io/acme/web:1.4.2"


@needs_kustomize
@pytest.mark.slow
def test_a_full_reference_moves_the_image_to_another_registry(tmp_path: Path) -> None:
    container = rendered_container(tmp_path, ["web=registry.example.com/mirror/web:2.0.0"])

    assert container["image"] == "registry.example.com/mirror/web:2.0.0"


@needs_kustomize
@pytest.mark.slow
def test_a_digest_pins_the_image(tmp_path: Path) -> None:
    container = rendered_container(tmp_path, [f"web=@{DIGEST}"], version="2.0.0")

    assert container["image"] == f"ghcr.io/acme/web@{DIGEST}"


@needs_kustomize
@pytest.mark.slow
def test_a_failing_build_reports_the_tools_reason(tmp_path: Path) -> None:
    write_project(tmp_path, {"base/kustomization.yaml": "resources: [missing.yaml]\n"}, KUSTOMIZE)

    with pytest.raises(TemplateError) as caught:
        render(tmp_path)

    assert str(caught.value).startswith("kustomize build base: ")
    assert "missing.yaml" in str(caught.value)


def test_a_folder_without_kustomization_yaml_is_refused(tmp_path: Path) -> None:
    write_project(tmp_path, {"base/deployment.yaml": deployment()}, KUSTOMIZE)

    with pytest.raises(TemplateError) as caught:
        render(tmp_path)

    assert str(caught.value) == "base: no kustomization.yaml in the template folder"


def test_without_kustomize_or_kubectl_the_tool_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = base(tmp_path / "project")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(ToolMissing) as caught:
        render(project)

    assert str(caught.value) == "the kustomize engine needs `kustomize` or `kubectl` on PATH; none was found"
