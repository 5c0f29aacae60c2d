"""Plain YAML templates: `${path.in.context}` placeholders are filled, or the render stops at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import EXAMPLES, deployment, render, write_project

from fluxgate.errors import TemplateError

CONTEXT_KEYS = "app, env, images, values, version"


def configmap(data: str, name: str = "settings") -> str:
    """A ConfigMap template whose `data:` entries start on line 6."""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n{data}"


def with_values(files: dict[str, str], values: str | None) -> dict[str, str]:
    return files if values is None else {**files, "config/dev/values.yaml": values}


def render_configmap(tmp_path: Path, data: str, values: str | None = None) -> dict[str, str]:
    write_project(tmp_path, with_values({"manifests/cm.yaml": configmap(data)}, values))
    return render(tmp_path).manifests.objects["dev/demo-dev/configmap-settings.yaml"]["data"]


def template_error(tmp_path: Path, files: dict[str, str], values: str | None = None) -> str:
    write_project(tmp_path, with_values(files, values))
    with pytest.raises(TemplateError) as caught:
        render(tmp_path)
    return str(caught.value)


def test_a_whole_value_placeholder_keeps_the_value_type(tmp_path: Path) -> None:
    template = deployment(replicas="${values.replicas}")
    write_project(tmp_path, {"manifests/web.yaml": template, "config/dev/values.yaml": "replicas: 3\n"})

    result = render(tmp_path)

    assert result.manifests.objects["dev/demo-dev/deployment-web.yaml"]["spec"]["replicas"] == 3
    assert "  replicas: 3\n" in result.files()["dev/demo-dev/deployment-web.yaml"]


def test_a_whole_value_placeholder_can_insert_a_list_or_mapping(tmp_path: Path) -> None:
    template = deployment(container_fields="args: ${values.args}\nresources: ${values.resources}\n")
    values = "args: [serve, --port, '8080']\nresources:\n  limits: {memory: 64Mi}\n"
    write_project(tmp_path, {"manifests/web.yaml": template, "config/dev/values.yaml": values})

    web = render(tmp_path).manifests.objects["dev/demo-dev/deployment-web.yaml"]

    [container] = web["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["serve", "--port", "8080"]
    assert container["resources"] == {"limits": {"memory": "64Mi"}}


def test_placeholders_inside_longer_strings_become_text(tmp_path: Path) -> None:
    data = render_configmap(
        tmp_path,
        '  TEXT: "port ${values.port} on ${env.name}"\n'
        "  FLAG: debug=${values.debug}\n"
        "  IMAGE: image ${images.web} of ${app} ${version}\n",
        values="port: 8080\ndebug: true\n",
    )

    assert data == {
        "TEXT": "port 8080 on dev",
        "FLAG": "debug=true",
        "IMAGE": "image ghcr.io/acme/web:1.0.0 of demo 1.0.0",
    }


def test_placeholders_in_list_items_are_filled(tmp_path: Path) -> None:
    template = deployment(container_fields="args:\n  - --env=${env.name}\n  - ${values.port}\n")
    write_project(tmp_path, {"manifests/web.yaml": template, "config/dev/values.yaml": "port: '8080'\n"})

    web = render(tmp_path).manifests.objects["dev/demo-dev/deployment-web.yaml"]

    assert web["spec"]["template"]["spec"]["containers"][0]["args"] == ["--env=dev", "8080"]


def test_double_dollar_escapes_a_placeholder(tmp_path: Path) -> None:
    data = render_configmap(tmp_path, '  ESC: "$${HOME} and $${values.port}"\n  BOTH: "$${HOME}/${app}"\n')

    assert data == {"ESC": "${HOME} and ${values.port}", "BOTH": "${HOME}/demo"}


def test_unknown_variable_names_file_line_and_variable(tmp_path: Path) -> None:
    message = template_error(tmp_path, {"manifests/cm.yaml": configmap("  A: a\n  B: ${values.nope}\n")})

    assert message == (
        f"manifests/cm.yaml:7: unknown variable ${{values.nope}} (the context has: {CONTEXT_KEYS})"
    )


def test_unknown_variable_in_a_list_item_names_its_line(tmp_path: Path) -> None:
    message = template_error(
        tmp_path, {"manifests/a.yaml": configmap("  A: a\n", "a"), "manifests/b.yaml": "- x\n- ${nope}\n"}
    )

    assert message.startswith("manifests/b.yaml:2: unknown variable ${nope}")


def test_unknown_variable_inside_a_longer_string(tmp_path: Path) -> None:
    message = template_error(tmp_path, {"manifests/cm.yaml": configmap('  A: "host-${env.region}"\n')})

    assert message.startswith("manifests/cm.yaml:6: unknown variable ${env.region}")


def test_a_list_cannot_be_inserted_into_text(tmp_path: Path) -> None:
    message = template_error(
        tmp_path, {"manifests/cm.yaml": configmap('  A: "hosts ${values.hosts}"\n')}, values="hosts: [a, b]\n"
    )

    assert message == "manifests/cm.yaml:6: ${values.hosts} is not a scalar; it can only fill a whole value"


def test_invalid_template_yaml_names_the_line(tmp_path: Path) -> None:
    message = template_error(tmp_path, {"manifests/cm.yaml": configmap("  A: {x: 1\n")})

    assert message.startswith("manifests/cm.yaml:7: invalid YAML:")


def test_an_empty_template_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()

    message = template_error(tmp_path, {"manifests/README.md": "not a template\n"})

    assert message == "manifests: no .yaml files in the template folder"


def test_the_hello_example_fills_every_placeholder() -> None:
    files = render(EXAMPLES / "hello", "prod", ["hello=2.0.0"]).files()

    assert sorted(files) == [
        "prod/hello-prod/configmap-hello.yaml",
        "prod/hello-prod/deployment-hello.yaml",
        "prod/hello-prod/service-hello.yaml",
    ]
    assert "${" not in "".join(files.values()).replace("${HOSTNAME}", "")
    assert files["prod/hello-prod/configmap-hello.yaml"] == (
        "apiVersion: v1\n"
        "data:\n"
        "  ENVIRONMENT: prod\n"
        '  FOOTER: "served by ${HOSTNAME} (hello 2.0.0, prod)"\n'
        "  LOG_LEVEL: info\n"
        '  MESSAGE: "Hello, world"\n'
        "kind: ConfigMap\n"
        "metadata:\n"
        "  labels:\n"
        "    app.kubernetes.io/name: hello\n"
        '    app.kubernetes.io/version: "2.0.0"\n'
        "  name: hello\n"
        "  namespace: hello-prod\n"
    )
    assert "  replicas: 3\n" in files["prod/hello-prod/deployment-hello.yaml"]


def test_a_quoted_placeholder_gives_a_string(tmp_path: Path) -> None:
    data = render_configmap(
        tmp_path, "  PORT: \"${values.port}\"\n  RATIO: '${values.ratio}'\n", values="port: 80\nratio: 0.5\n"
    )

    assert data == {"PORT": "80", "RATIO": "0.5"}


def test_a_placeholder_in_a_key_is_filled(tmp_path: Path) -> None:
    data = render_configmap(tmp_path, "  ${app}.conf: on\n")

    assert data == {"demo.conf": "on"}
