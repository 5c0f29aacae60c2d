"""Jsonnet templates: errors name the user's `file.jsonnet:line:col`, inputs arrive as ext vars/TLAs,
and every common output shape becomes a flat list of Kubernetes objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from projects import EXAMPLES, render, write_project

from fluxgate.errors import TemplateError

JSONNET = {"templates": {"engine": "jsonnet", "path": "deploy/main.jsonnet", "library_paths": ["deploy/lib"]}}


def configmap(name: str, data: str = "{}") -> str:
    return f"{{apiVersion: 'v1', kind: 'ConfigMap', metadata: {{name: '{name}'}}, data: {data}}}"


TWO = f"{configmap('a')}, {configmap('b')}"


def render_jsonnet(tmp_path: Path, source: str, **files: str) -> dict[str, dict[str, Any]]:
    write_project(tmp_path, {"deploy/main.jsonnet": source, **files}, JSONNET)
    return render(tmp_path).manifests.objects


def jsonnet_error(tmp_path: Path, source: str, **files: str) -> str:
    write_project(tmp_path, {"deploy/main.jsonnet": source, **files}, JSONNET)
    with pytest.raises(TemplateError) as caught:
        render(tmp_path)
    return str(caught.value)


# --- errors -----------------------------------------------------------------------------------------


def test_runtime_error_names_file_line_and_column(tmp_path: Path) -> None:
    message = jsonnet_error(tmp_path, "local x = 1;\n\nerror 'boom'\n")

    assert message == "deploy/main.jsonnet:3:1: RUNTIME ERROR: boom"


def test_runtime_error_inside_an_object_names_the_field_expression(tmp_path: Path) -> None:
    source = "{\n  web: {\n    replicas: error 'no replicas for ' + std.extVar('app'),\n  },\n}\n"

    message = jsonnet_error(tmp_path, source)

    assert message == "deploy/main.jsonnet:3:15: RUNTIME ERROR: no replicas for demo"


def test_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    message = jsonnet_error(tmp_path, "local x = 1;\n{\n  a: 1\n  b: 2,\n}\n")

    assert message == "deploy/main.jsonnet:4:3: STATIC ERROR: expected a comma before next field."


def test_error_in_a_library_names_the_library_file(tmp_path: Path) -> None:
    message = jsonnet_error(
        tmp_path,
        "local lib = import 'lib.libsonnet';\nlib.f(1)\n",
        **{"deploy/lib/lib.libsonnet": "{\n  f(x):: error 'in lib ' + x,\n}\n"},
    )

    assert message == "deploy/lib/lib.libsonnet:2:10: RUNTIME ERROR: in lib 1"


def test_error_raised_inside_the_standard_library_names_the_caller(tmp_path: Path) -> None:
    message = jsonnet_error(tmp_path, "\n\nstd.parseInt('x')\n")

    assert message == "deploy/main.jsonnet:3:1: RUNTIME ERROR: x is not a base 10 integer"


def test_missing_import_names_the_import(tmp_path: Path) -> None:
    message = jsonnet_error(tmp_path, "local lib = import 'missing.libsonnet';\nlib\n")

    assert message.startswith(
        'deploy/main.jsonnet:1:13: RUNTIME ERROR: couldn\'t open import "missing.libsonnet"'
    )


def test_undefined_ext_var_is_named(tmp_path: Path) -> None:
    message = jsonnet_error(tmp_path, "{\n  a: std.extVar('region'),\n}\n")

    assert message == "deploy/main.jsonnet:2:6: RUNTIME ERROR: undefined external variable: region"


def test_missing_entry_file(tmp_path: Path) -> None:
    write_project(tmp_path, {}, JSONNET)

    with pytest.raises(TemplateError, match=r"^deploy/main\.jsonnet: file not found$"):
        render(tmp_path)


# --- inputs -----------------------------------------------------------------------------------------


def test_ext_vars_carry_the_whole_context(tmp_path: Path) -> None:
    source = configmap(
        "ctx",
        "{app: std.extVar('app'), version: std.extVar('version'), "
        "env: std.manifestJsonMinified(std.extVar('env')), "
        "images: std.manifestJsonMinified(std.extVar('images')), "
        "values: std.manifestJsonMinified(std.extVar('values'))}",
    )

    objects = render_jsonnet(tmp_path, source, **{"config/dev/values.yaml": "greeting: hi\nreplicas: 2\n"})

    data = objects["dev/demo-dev/configmap-ctx.yaml"]["data"]
    assert data["app"] == "demo"
    assert data["version"] == "1.0.0"
    assert json.loads(data["env"]) == {"name": "dev", "namespace": "demo-dev", "clusters": ["dev-eu"]}
    assert json.loads(data["images"]) == {"web": "ghcr.io/acme/web:1.0.0"}
    assert json.loads(data["values"]) == {"greeting": "hi", "replicas": 2}


def test_tlas_pass_context_to_a_function_template(tmp_path: Path) -> None:
    config = {"templates": {**JSONNET["templates"], "tlas": ["images", "env"]}}
    source = "function(images, env)\n  " + configmap("ctx", "{web: images.web, env: env.name}")
    write_project(tmp_path, {"deploy/main.jsonnet": source}, config)

    objects = render(tmp_path).manifests.objects

    data = objects["dev/demo-dev/configmap-ctx.yaml"]["data"]
    assert data == {"web": "ghcr.io/acme/web:1.0.0", "env": "dev"}


def test_a_function_template_without_tlas_configured_is_an_error(tmp_path: Path) -> None:
    message = jsonnet_error(tmp_path, "function(images) " + configmap("ctx"))

    assert message.startswith("deploy/main.jsonnet:")
    assert "function parameter images not bound" in message


# --- output shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(f"[{configmap('a')}, [{configmap('b')}]]", id="array"),
        pytest.param(
            f"{{web: {{config: {configmap('a')}, more: {{other: {configmap('b')}}}}}}}", id="nested-objects"
        ),
        pytest.param(f"{{apiVersion: 'v1', kind: 'List', items: [{TWO}]}}", id="List"),
        pytest.param(f"{{apiVersion: 'v1', kind: 'ConfigMapList', items: [{TWO}]}}", id="KindList"),
        pytest.param(f"{{a: {configmap('a')}, skipped: null, b: [{configmap('b')}]}}", id="with-null"),
    ],
)
def test_every_output_shape_becomes_objects(tmp_path: Path, source: str) -> None:
    objects = render_jsonnet(tmp_path, source)

    assert sorted(objects) == ["dev/demo-dev/configmap-a.yaml", "dev/demo-dev/configmap-b.yaml"]


def test_the_shop_renders_ten_objects_per_environment() -> None:
    result = render(EXAMPLES / "shop", "dev", ["web=1.4.2", "worker=1.4.2"])

    assert sorted(result.manifests.objects) == [
        f"dev/shop-dev/{name}.yaml"
        for name in [
            "configmap-shop-web", "configmap-shop-worker", "deployment-shop-web", "deployment-shop-worker",
            "horizontalpodautoscaler-shop-web", "horizontalpodautoscaler-shop-worker", "ingress-shop-web",
            "service-shop-web", "serviceaccount-shop-web", "serviceaccount-shop-worker",
        ]
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("source", "found"),
    [
        (f"{{web: {{config: {configmap('a')}, replicas: 3}}}}", "int at web.replicas"),
        (f"[{configmap('a')}, 'oops']", "str at [1]"),
        ("'just text'", "str at the top level"),
        (f"{{apiVersion: 'v1', kind: 'List', items: [{configmap('a')}, true]}}", "bool at items[1]"),
    ],
)
def test_a_value_that_is_not_an_object_is_named_by_its_path(tmp_path: Path, source: str, found: str) -> None:
    message = jsonnet_error(tmp_path, source)

    assert message == f"deploy/main.jsonnet: expected Kubernetes objects, found {found}"
