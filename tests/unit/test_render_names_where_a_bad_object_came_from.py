"""A bad rendered object is reported with the template it came from, and what is wrong with it.

- a `metadata.namespace` Kubernetes would refuse (`../../etc`, `Shop`, 64 characters) stops the render,
  naming the template's file:line and the value;
- a `${` without its closing `}` in a YAML template is an error at file:line, not output;
- schema, policy and layout problems name the repo path *and* the template: YAML templates by
  file:line (the line the object starts on), jsonnet by its entry file (jsonnet gives no positions);
- all of this stays beside the objects: a valid render writes the same bytes as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from projects import EXAMPLES, deployment, render, write_project

from fluxgate.errors import TemplateError, ValidationFailed

NAMESPACE_RULE = (
    "must be a DNS label (lower-case letters, digits and '-', at most 63 characters, "
    "starting and ending with a letter or digit)"
)
JSONNET = {"templates": {"engine": "jsonnet", "path": "deploy/main.jsonnet"}}


def configmap(name: str, namespace: str | None = None, data: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace is not None else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{ns}\n{data}"


def problems_of(tmp_path: Path, files: dict[str, str], config: dict[str, Any] | None = None) -> list[str]:
    write_project(tmp_path, files, config)
    with pytest.raises(ValidationFailed) as caught:
        render(tmp_path)
    return caught.value.problems


def template_error(tmp_path: Path, files: dict[str, str]) -> str:
    write_project(tmp_path, files)
    with pytest.raises(TemplateError) as caught:
        render(tmp_path)
    return str(caught.value)


# --- 1. namespaces -------------------------------------------------------------------------------


@pytest.mark.parametrize("namespace", ["../../etc", "Shop", "shop_dev", "-shop", "shop.dev", "a" * 64])
def test_a_namespace_kubernetes_would_refuse_names_the_template_line_and_the_value(
    tmp_path: Path, namespace: str
) -> None:
    # the bad object is the second document: its first line is line 6
    template = configmap("fine") + "---\n" + configmap("web", f"'{namespace}'")

    problems = problems_of(tmp_path, {"manifests/app.yaml": template})

    assert problems == [
        f"manifests/app.yaml:6: ConfigMap web: metadata.namespace {namespace!r} {NAMESPACE_RULE}"
    ]


def test_a_namespace_filled_by_a_placeholder_is_checked_too(tmp_path: Path) -> None:
    files = {
        "manifests/web.yaml": deployment(namespace="${values.namespace}"),
        "config/dev/values.yaml": "namespace: team/shop\n",
    }

    problems = problems_of(tmp_path, files)

    assert problems == [
        f"manifests/web.yaml:1: Deployment web: metadata.namespace 'team/shop' {NAMESPACE_RULE}"
    ]


def test_every_bad_namespace_is_reported_in_one_round(tmp_path: Path) -> None:
    files = {
        "manifests/a.yaml": configmap("a", "../../etc"),
        "manifests/b.yaml": "# b\n\n" + configmap("b", "UPPER"),
    }

    problems = problems_of(tmp_path, files)

    assert problems == [
        f"manifests/a.yaml:1: ConfigMap a: metadata.namespace '../../etc' {NAMESPACE_RULE}",
        f"manifests/b.yaml:3: ConfigMap b: metadata.namespace 'UPPER' {NAMESPACE_RULE}",
    ]


def test_a_namespace_of_63_characters_is_fine(tmp_path: Path) -> None:
    namespace = "a" * 62 + "1"
    write_project(tmp_path, {"manifests/cm.yaml": configmap("web", namespace)})

    assert list(render(tmp_path).files()) == [f"dev/{namespace}/configmap-web.yaml"]


def test_a_bad_namespace_in_jsonnet_names_the_entry_file(tmp_path: Path) -> None:
    source = "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'web', namespace: '../../etc'}}\n"

    problems = problems_of(tmp_path, {"deploy/main.jsonnet": source}, JSONNET)

    assert problems == [
        f"deploy/main.jsonnet: ConfigMap web: metadata.namespace '../../etc' {NAMESPACE_RULE}"
    ]


# --- 2. unclosed placeholders --------------------------------------------------------------------


AT_END = 'no "}" before the end of the value'
AT_BRACE = 'no "}" before the next "{"'


@pytest.mark.parametrize(
    ("data", "line", "placeholder", "until"),
    [
        ("  A: a\n  B: ${env.name\n", 7, "${env.name", AT_END),
        ('  A: "host-${env.name.svc"\n', 6, "${env.name.svc", AT_END),
        ("  A: ${env.name ${app}\n", 6, "${env.name ", AT_BRACE),
        ("  ${app.conf: on\n", 6, "${app.conf", AT_END),  # in a key
        ("  A: 'echo $${HOME'\n", 6, "$${HOME", AT_END),  # an escape needs its brace too
    ],
)
def test_an_unclosed_placeholder_names_file_line_and_the_placeholder(
    tmp_path: Path, data: str, line: int, placeholder: str, until: str
) -> None:
    template = configmap("settings", data=f"data:\n{data}")

    message = template_error(tmp_path, {"manifests/cm.yaml": template})

    assert message == f'manifests/cm.yaml:{line}: unclosed placeholder "{placeholder}": {until}'


def test_an_unclosed_placeholder_in_a_list_item_names_its_line(tmp_path: Path) -> None:
    template = deployment(container_fields="args:\n  - --env=${env.name}\n  - --app=${app\n")

    message = template_error(tmp_path, {"manifests/web.yaml": template})

    assert message == f'manifests/web.yaml:20: unclosed placeholder "${{app": {AT_END}'


def test_dollars_and_braces_that_are_not_placeholders_pass_as_written(tmp_path: Path) -> None:
    data = "data:\n  A: '$HOME $$ $5 {x} ${app}'\n  B: 'a $${HOME} b'\n  C: '{\"json\": true}'\n"
    write_project(tmp_path, {"manifests/cm.yaml": configmap("settings", data=data)})

    objects = render(tmp_path).manifests.objects

    assert objects["dev/demo-dev/configmap-settings.yaml"]["data"] == {
        "A": "$HOME $$ $5 {x} demo",
        "B": "a ${HOME} b",
        "C": '{"json": true}',
    }


# --- 3. problems on rendered objects name the template ---------------------------------------------


def test_a_schema_problem_names_the_repo_path_and_the_template_line(tmp_path: Path) -> None:
    # the Deployment is the second document of app.yaml and starts on line 8
    template = "# settings first\n" + configmap("web", data="data: {A: a}\n") + "---\n# then the app\n"
    template += deployment(replicas='"two"')

    problems = problems_of(tmp_path, {"manifests/app.yaml": template})

    assert problems == [
        "dev/demo-dev/deployment-web.yaml (from manifests/app.yaml:9): Deployment demo-dev/web: "
        "spec.replicas must be integer or null"
    ]


def test_a_policy_problem_names_the_repo_path_and_the_template_line(tmp_path: Path) -> None:
    template = configmap("a") + "---\n" + deployment(image="ghcr.io/acme/web:latest")

    problems = problems_of(tmp_path, {"manifests/app.yaml": template})

    assert problems == [
        "dev/demo-dev/deployment-web.yaml (from manifests/app.yaml:6): Deployment demo-dev/web: "
        "spec.template.spec.containers[0].image 'ghcr.io/acme/web:latest' is not pinned: "
        "use a version tag or a digest"
    ]


def test_objects_in_a_list_are_named_by_their_item_line(tmp_path: Path) -> None:
    template = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
        "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: b}\n    data: {N: 1}\n"
    )

    problems = problems_of(tmp_path, {"manifests/list.yaml": template})

    assert problems == [
        "dev/demo-dev/configmap-b.yaml (from manifests/list.yaml:5): ConfigMap demo-dev/b: "
        "data.N must be string or null"
    ]


def test_a_duplicate_names_both_templates(tmp_path: Path) -> None:
    files = {"manifests/a.yaml": deployment(), "manifests/b.yaml": configmap("x") + "---\n" + deployment()}

    problems = problems_of(tmp_path, files)

    assert problems == [
        "dev/demo-dev/deployment-web.yaml (from manifests/b.yaml:6): Deployment demo-dev/web: "
        "rendered twice (first from manifests/a.yaml:1); templates and overlays must define each object once"
    ]


def test_an_invalid_name_names_the_template_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"manifests/cm.yaml": configmap("ok") + "---\n" + configmap("Bad_Name")})

    assert problems == [
        "manifests/cm.yaml:6: ConfigMap 'Bad_Name': metadata.name must be a lower-case DNS name "
        "(letters, digits, '-', '.')"
    ]


def test_an_object_an_overlay_broke_still_names_its_template(tmp_path: Path) -> None:
    overlay = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: two\n"
    files = {
        "manifests/app.yaml": configmap("a") + "---\n" + deployment(),
        "config/dev/overlays/web.yaml": overlay,
    }

    problems = problems_of(tmp_path, files)

    assert problems == [
        "dev/demo-dev/deployment-web.yaml (from manifests/app.yaml:6): Deployment demo-dev/web: "
        "spec.replicas must be integer or null"
    ]


def test_jsonnet_problems_name_the_entry_file(tmp_path: Path) -> None:
    source = """\
local app = import 'app.libsonnet';
{
  settings: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'settings'}},
  web: app.deployment(replicas='two'),
}
"""
    library = """\
{
  deployment(replicas):: {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: 'web'},
    spec: {
      replicas: replicas,
      selector: {matchLabels: {app: 'web'}},
      template: {metadata: {labels: {app: 'web'}}, spec: {containers: [{name: 'web', image: 'web:1'}]}},
    },
  },
}
"""
    files = {"deploy/main.jsonnet": source, "deploy/app.libsonnet": library}

    problems = problems_of(tmp_path, files, JSONNET)

    assert problems == [
        "dev/demo-dev/deployment-web.yaml (from deploy/main.jsonnet): Deployment demo-dev/web: "
        "spec.replicas must be integer or null"
    ]


# --- the output does not change --------------------------------------------------------------------


APP_TEMPLATE = """\
# the app: a config map and the web deployment
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  labels: {app: "${app}", version: "${version}"}
data:
  GREETING: 'hello from ${env.name}'
  SHELL: "echo $${HOME} costs $$5"
---
"""

# What fluxgate wrote for APP_TEMPLATE before origins existed (rendered with the previous commit).
APP_FILES = {
    "dev/demo-dev/configmap-web.yaml": """\
apiVersion: v1
data:
  GREETING: "hello from dev"
  SHELL: "echo ${HOME} costs $$5"
kind: ConfigMap
metadata:
  labels:
    app: demo
    version: "1.0.0"
  name: web
  namespace: demo-dev
""",
    "dev/demo-dev/deployment-web.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo-dev
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - image: ghcr.io/acme/web:1.0.0
        name: web
""",
}


def test_a_valid_render_writes_the_same_bytes_and_objects_carry_no_origin(tmp_path: Path) -> None:
    template = APP_TEMPLATE + deployment(replicas="${values.replicas}")
    write_project(tmp_path, {"manifests/app.yaml": template, "config/dev/values.yaml": "replicas: 2\n"})

    result = render(tmp_path)

    assert result.files() == APP_FILES
    assert result.manifests.objects["dev/demo-dev/configmap-web.yaml"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "web",
            "namespace": "demo-dev",
            "labels": {"app": "demo", "version": "1.0.0"},
        },
        "data": {"GREETING": "hello from dev", "SHELL": "echo ${HOME} costs $$5"},
    }


JSONNET_SOURCE = """\
local cm(name, data) = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: name}, data: data};
{
  web: cm('web', {GREETING: 'hello from ' + std.extVar('env').name, VERSION: std.extVar('version')}),
}
"""


def test_a_valid_jsonnet_render_writes_the_same_bytes(tmp_path: Path) -> None:
    write_project(tmp_path, {"deploy/main.jsonnet": JSONNET_SOURCE}, JSONNET)

    result = render(tmp_path)

    # as rendered with the previous commit
    assert result.files() == {
        "dev/demo-dev/configmap-web.yaml": (
            "apiVersion: v1\n"
            "data:\n"
            '  GREETING: "hello from dev"\n'
            '  VERSION: "1.0.0"\n'
            "kind: ConfigMap\n"
            "metadata:\n"
            "  name: web\n"
            "  namespace: demo-dev\n"
        )
    }


def test_the_examples_carry_no_trace_of_where_objects_came_from() -> None:
    examples = [("hello", "prod", ["hello=2.0.0"]), ("shop", "prod", ["web=1.2.3", "worker=1.2.3"])]
    for example, env, images in examples:
        files = render(EXAMPLES / example, env, images, version="1.2.3").files()

        assert files, example
        for path, text in files.items():
            assert not any(word in text for word in ("origin", ".jsonnet", "manifests/", ".yaml:")), path
