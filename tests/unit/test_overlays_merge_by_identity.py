"""Environment overlays merge onto the rendered object with the same identity, the way a reader expects.

Mappings merge key by key, `null` deletes, lists of named items merge by `name` (new names are
appended), every other list is replaced, and an overlay that matches nothing is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from projects import EXAMPLES, render, write_project

from fluxgate.config import load_config
from fluxgate.errors import ConfigError
from fluxgate.release import build_release
from fluxgate.render import render_environment
from fluxgate.render.overlay import deep_merge

# --- deep_merge -----------------------------------------------------------------------------------


def test_nested_mappings_merge_key_by_key() -> None:
    base = {"spec": {"replicas": 1, "strategy": {"type": "RollingUpdate"}}, "kind": "Deployment"}

    merged = deep_merge(base, {"spec": {"replicas": 3, "paused": True}})

    assert merged == {
        "spec": {"replicas": 3, "paused": True, "strategy": {"type": "RollingUpdate"}},
        "kind": "Deployment",
    }


def test_null_deletes_a_key_and_a_missing_key_is_no_error() -> None:
    base = {"spec": {"replicas": 1, "strategy": {"type": "Recreate"}}}

    assert deep_merge(base, {"spec": {"strategy": None, "absent": None}}) == {"spec": {"replicas": 1}}


def test_named_items_merge_by_name_and_new_names_are_appended() -> None:
    base = {
        "env": [
            {"name": "A", "value": "a"},
            {"name": "B", "value": "b", "valueFrom": None},
            {"name": "C", "value": "c"},
        ]
    }

    merged = deep_merge(base, {"env": [{"name": "D", "value": "d"}, {"name": "B", "value": "bee"}]})

    assert merged["env"] == [
        {"name": "A", "value": "a"},
        {"name": "B", "value": "bee", "valueFrom": None},
        {"name": "C", "value": "c"},
        {"name": "D", "value": "d"},
    ]


def test_null_inside_a_named_item_deletes_its_key() -> None:
    base = {"containers": [{"name": "web", "image": "x:1", "args": ["--debug"]}]}

    merged = deep_merge(base, {"containers": [{"name": "web", "args": None}]})

    assert merged == {"containers": [{"name": "web", "image": "x:1"}]}


@pytest.mark.parametrize(
    ("base", "patch"),
    [
        (["--a", "--b"], ["--c"]),  # plain values
        ([{"port": 80}, {"port": 81}], [{"port": 8080}]),  # mappings without a name
        ([{"name": "x"}, "s"], [{"name": "x", "v": 1}]),  # only some items named
        ([{"name": "x"}], []),  # an empty list empties it
    ],
)
def test_other_lists_are_replaced(base: list[Any], patch: list[Any]) -> None:
    assert deep_merge({"l": base}, {"l": patch}) == {"l": patch}


def test_a_value_of_another_type_replaces() -> None:
    assert deep_merge({"a": {"b": 1}, "c": [1]}, {"a": "text", "c": {"d": 1}}) == {"a": "text", "c": {"d": 1}}


def test_the_merged_object_does_not_share_data_with_the_overlay() -> None:
    patch: dict[str, Any] = {"spec": {"tolerations": [{"key": "gpu"}]}}
    merged = deep_merge({"spec": {}}, patch)

    patch["spec"]["tolerations"][0]["key"] = "changed"

    assert merged == {"spec": {"tolerations": [{"key": "gpu"}]}}


# --- overlays in a render -----------------------------------------------------------------------


TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: ${images.web}
          env:
            - name: A
              value: a
        - name: sidecar
          image: ghcr.io/acme/sidecar:1.0
"""

OVERLAY = """\
# prod-only settings for web
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 4
  template:
    spec:
      containers:
        - name: web
          env:
            - name: B
              value: b
"""


def test_an_overlay_changes_only_what_it_names(tmp_path: Path) -> None:
    write_project(tmp_path, {"manifests/web.yaml": TEMPLATE, "config/dev/overlays/web.yaml": OVERLAY})

    result = render(tmp_path)

    web = result.manifests.objects["dev/demo-dev/deployment-web.yaml"]
    assert web["spec"]["replicas"] == 4
    assert web["spec"]["template"]["spec"]["containers"] == [
        {
            "name": "web",
            "image": "ghcr.io/acme/web:1.0.0",
            "env": [{"name": "A", "value": "a"}, {"name": "B", "value": "b"}],
        },
        {"name": "sidecar", "image": "ghcr.io/acme/sidecar:1.0"},
    ]


def test_an_overlay_that_matches_nothing_names_its_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo-dev\n"
    typo = OVERLAY.replace("name: web\nspec", "name: wbe\nspec")
    write_project(
        tmp_path,
        {
            "manifests/web.yaml": TEMPLATE,
            "manifests/ns.yaml": namespace,
            "config/dev/overlays/web.yaml": namespace + "---\n" + typo,
        },
    )

    with pytest.raises(ConfigError) as caught:
        render(tmp_path)

    # The second document of the file starts at line 5 (`---`); its first key is on line 7.
    assert str(caught.value) == (
        "config/dev/overlays/web.yaml:7: overlay targets apps/v1 Deployment demo-dev/wbe, "
        "which the templates do not render"
    )


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        (("apiVersion: apps/v1", "apiVersion: apps/v1beta1"), "apps/v1beta1 Deployment demo-dev/web"),
        (("kind: Deployment", "kind: StatefulSet"), "apps/v1 StatefulSet demo-dev/web"),
        (("name: web\nspec", "name: web\n  namespace: other\nspec"), "apps/v1 Deployment other/web"),
    ],
)
def test_identity_is_api_version_kind_namespace_and_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: tuple[str, str], shown: str
) -> None:
    monkeypatch.chdir(tmp_path)
    overlay = OVERLAY.replace(*change)
    write_project(tmp_path, {"manifests/web.yaml": TEMPLATE, "config/dev/overlays/web.yaml": overlay})

    with pytest.raises(ConfigError) as caught:
        render(tmp_path)

    assert str(caught.value) == (
        f"config/dev/overlays/web.yaml:2: overlay targets {shown}, which the templates do not render"
    )


def test_an_overlay_without_a_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    nameless = "apiVersion: apps/v1\nkind: Deployment\nspec: {}\n"
    write_project(tmp_path, {"manifests/web.yaml": TEMPLATE, "config/dev/overlays/web.yaml": nameless})

    with pytest.raises(ConfigError) as caught:
        render(tmp_path)

    assert str(caught.value) == (
        "config/dev/overlays/web.yaml:1: overlay needs metadata.name to find the object it changes"
    )


def test_shop_prod_overlay_adds_an_env_var_and_keeps_the_rendered_ones() -> None:
    config = load_config(EXAMPLES / "shop" / "fluxgate.yaml")
    release = build_release(config, ["web=1.4.2", "worker=1.4.2"])

    prod = render_environment(config, "prod", release).manifests.objects
    web = prod["prod/shop-prod/deployment-shop-web.yaml"]["spec"]["template"]["spec"]
    [container] = web["containers"]

    assert [e["name"] for e in container["env"]] == ["APP_VERSION", "POD_NAME", "ENABLE_PROFILING"]
    assert container["image"] == "ghcr.io/acme/shop-web:1.4.2"
    assert [c["topologyKey"] for c in web["topologySpreadConstraints"]] == [
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    ]


def test_shop_staging_overlay_adds_an_annotation_beside_the_rendered_one() -> None:
    config = load_config(EXAMPLES / "shop" / "fluxgate.yaml")
    release = build_release(config, ["web=1.4.2", "worker=1.4.2"])

    staging = render_environment(config, "staging", release).manifests.objects
    dev = render_environment(config, "dev", release).manifests.objects

    annotations = staging["staging/shop-staging/ingress-shop-web.yaml"]["metadata"]["annotations"]
    assert annotations == {
        "cert-manager.io/cluster-issuer": "letsencrypt-prod",
        "nginx.ingress.kubernetes.io/whitelist-source-range": "10.0.0.0/8,203.0.113.0/24",
    }
    assert (
        "nginx.ingress.kubernetes.io/whitelist-source-range"
        not in (dev["dev/shop-dev/ingress-shop-web.yaml"]["metadata"]["annotations"])
    )
