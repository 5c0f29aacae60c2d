"""The change summary: what a reviewer sees about resources and images, as data and Markdown."""

from __future__ import annotations

import copy
from typing import Any

from fluxgate.summary import changed_fields, summarize, to_markdown


def deployment(
    name: str, image: str, replicas: int = 1, env: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": image}
    if env is not None:
        container["env"] = env
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}},
    }


def configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"},
        "data": data,
    }


def test_added_changed_removed_and_unchanged_are_counted() -> None:
    current = {
        "dev/shop/deployment-web.yaml": deployment("web", "ghcr.io/acme/web:1.0"),
        "dev/shop/configmap-old.yaml": configmap("old", {"a": "1"}),
        "dev/shop/configmap-same.yaml": configmap("same", {"a": "1"}),
    }
    rendered = {
        "dev/shop/deployment-web.yaml": deployment("web", "ghcr.io/acme/web:1.1", replicas=3),
        "dev/shop/configmap-same.yaml": configmap("same", {"a": "1"}),
        "dev/shop/configmap-new.yaml": configmap("new", {"b": "2"}),
    }
    summary = summarize("dev", "shop@1.1", rendered, current)
    assert summary.headline() == "1 added, 1 changed, 1 removed, 1 unchanged"
    assert [(c.action, c.kind, c.name) for c in summary.changes] == [
        ("added", "ConfigMap", "new"),
        ("changed", "Deployment", "web"),
        ("removed", "ConfigMap", "old"),
    ]
    assert summary.changes[1].fields == ["spec.replicas", "spec.template.spec.containers[app].image"]
    assert [(i.name, i.container, i.old, i.new) for i in summary.images] == [
        ("web", "app", "ghcr.io/acme/web:1.0", "ghcr.io/acme/web:1.1")
    ]


def test_objects_match_by_identity_not_by_file() -> None:
    obj = configmap("settings", {"a": "1"})
    summary = summarize(
        "dev", "r", {"dev/new-layout/settings.yaml": obj}, {"dev/shop/configmap-settings.yaml": obj}
    )
    assert summary.empty and summary.unchanged == 1


def test_named_list_items_are_compared_by_name() -> None:
    old = deployment("web", "x:1", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
    ]
    assert changed_fields(old, new) == [
        "spec.template.spec.containers[app].env[A]",
        "spec.template.spec.containers[app].env[B].value",
        "spec.template.spec.containers[app].env[C]",
    ]


def test_markdown_has_the_change_table_and_image_table() -> None:
    summary = summarize(
        "staging",
        "shop@2.0",
        {"s/shop/deployment-web.yaml": deployment("web", "ghcr.io/acme/web:2.0")},
        {"s/shop/deployment-web.yaml": deployment("web", "ghcr.io/acme/web:1.0")},
    )
    text = to_markdown(summary)
    assert text.startswith("### shop@2.0 → staging\n\n**0 added, 1 changed, 0 removed, 0 unchanged**\n")
    assert "| ✏️ changed | Deployment | shop | web | `spec.template.spec.containers[app].image` |" in text
    assert "| Deployment shop/web | app | `ghcr.io/acme/web:1.0` | `ghcr.io/acme/web:2.0` |" in text


def test_markdown_escapes_pipes_so_the_table_holds() -> None:
    summary = summarize(
        "dev", "r", {"p": configmap("a", {"k": "x"})}, {"p": configmap("a", {"k|weird": "y"})}
    )
    text = to_markdown(summary)
    assert "`data.k\\|weird`" in text


def test_nothing_to_change_says_so() -> None:
    obj = configmap("a", {"k": "v"})
    text = to_markdown(summarize("prod", "shop@1", {"p": obj}, {"p": obj}))
    assert "No resource changes: the environment already matches this release." in text
