"""A broken fluxgate.yaml is reported as `fluxgate.yaml:<line>: <dotted.field>: <reason>`.

Each test writes a small config whose line numbers are visible below, runs in its folder (so the
file is shown as `fluxgate.yaml`, as a user in their repository sees it) and checks the message.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from projects import EXAMPLES

from fluxgate.config import PipelineConfig, load_config
from fluxgate.errors import ConfigError

VALID = """\
app: demo
components:
  web:
    path: src
    image: ghcr.io/acme/web
templates:
  engine: yaml
  path: manifests
manifests:
  repo: acme/demo-manifests
environments:
  - name: dev
    namespace: demo-dev
    clusters:
      - name: dev-eu
        kustomizations: [demo]
"""
# Lines:  1 app, 3 web, 5 image, 7 engine, 8 path, 10 repo, 12 `- name: dev`, 13 namespace,
#        14 clusters, 15 `- name: dev-eu`, 16 kustomizations.

PROD = """\
  - name: prod
    folder: {folder}
    clusters:
      - name: prod-eu
        kustomizations: [demo]
"""  # appended to VALID: line 17 is `- name: prod`, line 18 its folder


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load_text(folder: Path, text: str) -> PipelineConfig:
    path = folder / "fluxgate.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def config_error(folder: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_text(folder, text)
    return caught.value


# --- valid files ----------------------------------------------------------------------------------


def test_the_shop_example_loads() -> None:
    config = load_config(EXAMPLES / "shop" / "fluxgate.yaml")

    assert config.app == "shop"
    assert [e.name for e in config.environments] == ["dev", "staging", "prod"]
    assert config.components["web"].image == "ghcr.io/acme/shop-web"
    assert config.templates.library_paths == ["deploy/lib"]
    assert config.environment("staging").soak == timedelta(minutes=5)
    prod = config.environment("prod")
    assert prod.approval.mode == "review"
    assert prod.approval.reviewers == ["jane-ops", "kofi-mensah"]
    assert [c.name for c in prod.clusters] == ["prod-eu", "prod-us"]
    assert config.next_environment("dev") is config.environment("staging")
    assert config.next_environment("prod") is None
    assert config.root == (EXAMPLES / "shop").resolve()


def test_the_hello_example_loads() -> None:
    config = load_config(EXAMPLES / "hello" / "fluxgate.yaml")

    assert config.templates.engine == "yaml"
    assert config.environment("dev").approval.mode == "auto"  # the `approval: auto` shorthand
    assert config.environment("prod").soak == timedelta(minutes=15)
    assert config.components["hello"].dockerfile_path == "src/Dockerfile"


def test_the_minimal_config_loads_with_defaults(in_tmp: Path) -> None:
    config = load_text(in_tmp, VALID)

    assert config.manifests.branch == "main"
    assert config.manifests.layout == "{namespace}/{kind}-{name}.yaml"
    assert config.environment("dev").manifests_folder == "dev"
    assert config.kubernetes.strict is True


# --- broken files ---------------------------------------------------------------------------------


def test_missing_field_names_the_entry_that_lacks_it(in_tmp: Path) -> None:
    text = VALID.replace("    clusters:\n      - name: dev-eu\n        kustomizations: [demo]\n", "")

    err = config_error(in_tmp, text)

    assert str(err) == "fluxgate.yaml:12: environments[0].clusters: Field required"


def test_missing_top_level_field(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID.replace("app: demo\n", ""))

    assert str(err) == "fluxgate.yaml:1: app: Field required"


def test_wrong_type_names_the_line_of_the_value(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID.replace("kustomizations: [demo]", "kustomizations: 5"))

    assert str(err) == (
        "fluxgate.yaml:16: environments[0].clusters[0].kustomizations: Input should be a valid list"
    )


def test_unknown_key_is_refused(in_tmp: Path) -> None:
    text = VALID.replace("    namespace: demo-dev\n", "    namespace: demo-dev\n    colour: blue\n")

    err = config_error(in_tmp, text)

    assert str(err) == "fluxgate.yaml:14: environments[0].colour: Extra inputs are not permitted"


def test_component_image_with_a_tag_is_refused(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID.replace("image: ghcr.io/acme/web", "image: ghcr.io/acme/web:1.0"))

    assert str(err) == (
        "fluxgate.yaml:5: components.web.image: 'ghcr.io/acme/web:1.0' must be a repository "
        "without tag or digest"
    )


def test_path_outside_the_repository_is_refused(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID.replace("  path: manifests", "  path: ../elsewhere"))

    assert str(err).startswith("fluxgate.yaml:8: templates.path: '../elsewhere' must be a relative path")


def test_invalid_yaml_names_the_line(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID.replace("  engine: yaml\n", "  engine: yaml\n   bad: x\n"))

    assert str(err) == "fluxgate.yaml:8: invalid YAML: mapping values are not allowed here"


def test_tab_indentation_names_the_line(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID.replace("  engine: yaml\n", "\tengine: yaml\n"))

    assert str(err).startswith("fluxgate.yaml:7: invalid YAML: found character '\\t'")


def test_duplicate_yaml_key_is_refused(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID.replace("app: demo\n", "app: demo\napp: other\n"))

    assert str(err).startswith('fluxgate.yaml:2: invalid YAML: found duplicate key "app"')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "fluxgate.yaml: the file is empty; expected a mapping"),
        ("- app\n", "fluxgate.yaml:1: expected a mapping at the top level"),
        ("app: a\n---\napp: b\n", "fluxgate.yaml: expected one YAML document, found 2"),
    ],
)
def test_a_file_that_is_not_one_mapping_is_refused(in_tmp: Path, text: str, message: str) -> None:
    assert str(config_error(in_tmp, text)) == message


def test_missing_file_is_named(in_tmp: Path) -> None:
    with pytest.raises(ConfigError, match=r"^nope/fluxgate\.yaml: file not found$"):
        load_config(in_tmp / "nope" / "fluxgate.yaml")


@pytest.mark.parametrize(
    ("soak", "reason"),
    [
        ("10 minutes", "'10 minutes' is not a duration such as 90s, 10m or 1h30m"),
        ("-5", "a duration cannot be negative"),
        ("true", "expected a duration such as 90s, 10m or 1h30m"),
    ],
)
def test_bad_duration(in_tmp: Path, soak: str, reason: str) -> None:
    text = VALID.replace("    namespace: demo-dev\n", f"    namespace: demo-dev\n    soak: {soak}\n")

    err = config_error(in_tmp, text)

    assert str(err) == f"fluxgate.yaml:14: environments[0].soak: {reason}"


@pytest.mark.parametrize(("soak", "expected"), [("90s", 90), ("1h30m", 5400), ("10m", 600), ("45", 45)])
def test_good_durations(in_tmp: Path, soak: str, expected: int) -> None:
    text = VALID.replace("    namespace: demo-dev\n", f"    namespace: demo-dev\n    soak: {soak}\n")

    assert load_text(in_tmp, text).environment("dev").soak == timedelta(seconds=expected)


def test_every_problem_is_reported_at_once(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID.replace("app: demo", "app: Demo").replace("engine: yaml", "engine: ytt"))

    assert err.problems == [
        "fluxgate.yaml:1: app: String should match pattern '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
        "fluxgate.yaml:7: templates.engine: Input should be 'jsonnet', 'yaml', 'kustomize' or 'helm'",
    ]
    assert str(err).endswith("(and 1 more)")


def test_a_cluster_must_watch_something(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID.replace("        kustomizations: [demo]\n", ""))

    assert str(err) == (
        "fluxgate.yaml:15: environments[0].clusters[0]: "
        "name at least one Flux Kustomization or HelmRelease to watch"
    )


def test_unknown_environment_lists_the_known_ones(in_tmp: Path) -> None:
    config = load_text(in_tmp, VALID + PROD.format(folder="prod"))

    with pytest.raises(ConfigError) as caught:
        config.environment("qa")

    assert str(caught.value) == "unknown environment 'qa': fluxgate.yaml defines dev, prod"


# --- checks across environments ---------------------------------------------------------------------


def test_duplicate_environment_is_refused(in_tmp: Path) -> None:
    text = VALID + PROD.format(folder="other").replace("name: prod\n", "name: dev\n")

    err = config_error(in_tmp, text)

    assert str(err).startswith("fluxgate.yaml:")
    assert "environment 'dev' is defined twice" in str(err)


def test_two_environments_writing_to_one_folder_are_refused(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID + PROD.format(folder="dev"))

    assert str(err).startswith("fluxgate.yaml:")
    assert "environments 'dev' and 'prod' write to the same folder 'dev' of branch 'main'" in str(err)


def test_duplicate_environment_names_the_second_entry(in_tmp: Path) -> None:
    text = VALID + PROD.format(folder="other").replace("name: prod\n", "name: dev\n")

    err = config_error(in_tmp, text)

    assert str(err) == "fluxgate.yaml:17: environments[1].name: environment 'dev' is defined twice"


def test_two_environments_in_one_folder_names_the_colliding_entry(in_tmp: Path) -> None:
    err = config_error(in_tmp, VALID + PROD.format(folder="dev"))

    assert str(err) == (
        "fluxgate.yaml:18: environments[1].folder: environments 'dev' and 'prod' write to the same "
        "folder 'dev' of branch 'main'"
    )


def test_repository_dispatch_needs_a_code_repo(in_tmp: Path) -> None:
    opted_in = VALID + "    repository_dispatch: true\n"
    error = config_error(in_tmp, opted_in)
    assert error.lines() == [
        "fluxgate.yaml:17: environments[0].repository_dispatch: environment 'dev' asks for "
        "repository_dispatch but code_repo is not set"
    ]
    assert load_text(in_tmp, "code_repo: acme/demo\n" + opted_in).environments[0].repository_dispatch
