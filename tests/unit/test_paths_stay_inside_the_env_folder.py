"""Every rendered object lands at `<env>/<namespace>/<kind>-<name>.yaml`, never outside `<env>/`."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from projects import render, write_project

from fluxgate.errors import RenderError, ValidationFailed
from fluxgate.render.layout import object_path, safe_segment

LAYOUT = "{namespace}/{kind}-{name}.yaml"


def obj(kind: str, name: str, namespace: str | None = None, api_version: str = "v1") -> dict[str, Any]:
    metadata = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def test_namespaced_object_path_is_env_namespace_kind_name() -> None:
    path = object_path(obj("Deployment", "web", "shop", "apps/v1"), "dev", LAYOUT)

    assert path == "dev/shop/deployment-web.yaml"


def test_paths_are_lower_case() -> None:
    path = object_path(obj("HorizontalPodAutoscaler", "web", "shop-prod", "autoscaling/v2"), "prod", LAYOUT)

    assert path == "prod/shop-prod/horizontalpodautoscaler-web.yaml"


@pytest.mark.parametrize(
    ("kind", "api_version"),
    [
        ("Namespace", "v1"),
        ("ClusterRole", "rbac.authorization.k8s.io/v1"),
        ("CustomResourceDefinition", "apiextensions.k8s.io/v1"),
        ("ClusterIssuer", "cert-manager.io/v1"),
    ],
)
def test_cluster_scoped_objects_go_under_cluster_folder(kind: str, api_version: str) -> None:
    path = object_path(obj(kind, "shop", api_version=api_version), "dev", LAYOUT)

    assert path == f"dev/_cluster/{kind.lower()}-shop.yaml"


def test_layout_can_group_by_api_group() -> None:
    layout = "{group}/{namespace}/{kind}/{name}.yaml"

    assert object_path(obj("Deployment", "web", "shop", "apps/v1"), "dev", layout) == (
        "dev/apps/shop/deployment/web.yaml"
    )
    assert object_path(obj("Service", "web", "shop"), "dev", layout) == "dev/core/shop/service/web.yaml"


@pytest.mark.parametrize("name", ["../x", "a/b", ".git", "UPPER", "", "web-", "a" * 254, "web_1", "a b"])
def test_invalid_object_names_are_refused(name: str) -> None:
    with pytest.raises(RenderError) as caught:
        object_path(obj("ConfigMap", name, "shop"), "dev", LAYOUT)

    assert str(caught.value) == (
        f"ConfigMap {name!r}: metadata.name must be a lower-case DNS name (letters, digits, '-', '.')"
    )


def test_object_without_kind_is_refused() -> None:
    with pytest.raises(RenderError, match=r"^an object of apiVersion 'v1' has no kind$"):
        object_path(obj("", "web", "shop"), "dev", LAYOUT)


@pytest.mark.parametrize("namespace", ["../../etc", "..", "a/../../b", "/abs", "Shop-Prod", "a" * 64, "web-"])
def test_a_namespace_kubernetes_would_refuse_is_refused(namespace: str) -> None:
    with pytest.raises(RenderError) as caught:
        object_path(obj("ConfigMap", "web", namespace), "dev", LAYOUT)

    assert str(caught.value) == (
        f"ConfigMap web: metadata.namespace {namespace!r} must be a DNS label (lower-case letters, "
        "digits and '-', at most 63 characters, starting and ending with a letter or digit)"
    )


def test_a_render_puts_namespaced_objects_in_the_env_namespace_and_the_rest_under_cluster(
    tmp_path: Path,
) -> None:
    templates = {
        "manifests/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo-dev\n",
        "manifests/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata:\n  name: reader\nrules: []\n",
        "manifests/issuer.yaml": "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\n"
        "metadata:\n  name: le\n",
        "manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n",
        "manifests/other.yaml": "apiVersion: v1\nkind: ConfigMap\n"
        "metadata:\n  name: shared\n  namespace: infra\n",
    }
    write_project(tmp_path, templates)

    objects = render(tmp_path).manifests.objects

    assert sorted(objects) == [
        "dev/_cluster/clusterissuer-le.yaml",
        "dev/_cluster/clusterrole-reader.yaml",
        "dev/_cluster/namespace-demo-dev.yaml",
        "dev/demo-dev/configmap-settings.yaml",
        "dev/infra/configmap-shared.yaml",
    ]
    assert "namespace" not in objects["dev/_cluster/clusterrole-reader.yaml"]["metadata"]
    assert objects["dev/demo-dev/configmap-settings.yaml"]["metadata"]["namespace"] == "demo-dev"


def test_a_namespaced_object_needs_a_namespace_from_somewhere(tmp_path: Path) -> None:
    no_namespace = {"name": "dev", "clusters": [{"name": "dev-eu", "kustomizations": ["demo"]}]}
    write_project(
        tmp_path,
        {"manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"},
        {"environments": [no_namespace]},
    )

    with pytest.raises(RenderError) as caught:
        render(tmp_path)

    assert str(caught.value) == (
        "manifests/cm.yaml:1: ConfigMap settings has no metadata.namespace and the environment sets none"
    )


def test_invalid_names_in_templates_stop_the_render(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {"manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ../escape\n"},
    )

    with pytest.raises(ValidationFailed) as caught:
        render(tmp_path)

    assert caught.value.problems == [
        "manifests/cm.yaml:1: ConfigMap '../escape': metadata.name must be a lower-case DNS name "
        "(letters, digits, '-', '.')"
    ]


@given(st.text())
def test_safe_segment_is_always_one_plain_path_segment(text: str) -> None:
    segment = safe_segment(text)

    assert "/" not in segment
    assert segment not in ("", ".", "..")
    assert not segment.startswith(".")
    assert re.fullmatch(r"[a-z0-9_.-]+", segment)


dns_names = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,30}[a-z0-9])?", fullmatch=True)


@given(
    name=st.one_of(dns_names, st.text()),
    namespace=st.one_of(st.none(), dns_names, st.text()),
    kind=st.text(min_size=1),
)
def test_any_object_either_is_refused_or_lands_inside_the_env_folder(
    name: str, namespace: str | None, kind: str
) -> None:
    try:
        path = object_path(obj(kind, name, namespace), "dev", LAYOUT)
    except RenderError:
        return
    parts = PurePosixPath(path).parts

    assert parts[0] == "dev"
    assert len(parts) == 3
    assert ".." not in parts
    assert all(part and not part.startswith(".") for part in parts)
