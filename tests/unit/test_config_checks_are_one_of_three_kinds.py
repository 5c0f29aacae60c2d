"""`verification:` entries are HTTP (`url:`), container (`container:`) or workflow (`workflow:`)
checks; an entry with none or several is refused as `fluxgate.yaml:<line>: <field>: <reason>`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from projects import EXAMPLES

from fluxgate.config import (
    ContainerCheck,
    HttpCheck,
    PipelineConfig,
    WorkflowCheck,
    format_duration,
    load_config,
)
from fluxgate.errors import ConfigError

BASE = """\
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
  - name: staging
    clusters:
      - name: staging-eu
        kustomizations: [demo]
    verification:
"""  # the checks below start on line 17

CHECKS = """\
      - name: health
        url: https://staging.acme.dev/healthz
        json: {path: "status.ready", equals: true}
        headers: {Authorization: "Bearer ${secret:STAGING_TOKEN}"}
        tls: {verify: false}
      - name: smoke
        container:
          image: ghcr.io/acme/smoke:1.2
          command: ["pytest", "-m", "smoke"]
          env: {BASE_URL: "https://staging.acme.dev"}
          timeout: 5m
      - name: e2e
        workflow: {file: e2e.yml, ref: main}
"""


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load_text(folder: Path, text: str) -> PipelineConfig:
    path = folder / "fluxgate.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def problems(folder: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_text(folder, text)
    return caught.value.lines()


# --- valid files ----------------------------------------------------------------------------------


def test_the_three_kinds_load_with_their_settings(in_tmp: Path) -> None:
    config = load_text(in_tmp, "code_repo: acme/app\n" + BASE + CHECKS)

    health, smoke, e2e = config.environment("staging").verification
    assert isinstance(health, HttpCheck) and health.kind == "http"
    assert health.expect_json is not None and health.expect_json.path == "status.ready"
    assert health.expect_json.equals is True
    assert health.headers == {"Authorization": "Bearer ${secret:STAGING_TOKEN}"}  # resolved only when run
    assert health.tls.verify is False
    assert isinstance(smoke, ContainerCheck) and smoke.kind == "container"
    assert smoke.container.command == ["pytest", "-m", "smoke"]
    assert smoke.container.timeout == timedelta(minutes=5)
    assert isinstance(e2e, WorkflowCheck) and e2e.kind == "workflow"
    assert (e2e.workflow.repo, e2e.workflow.file, e2e.workflow.ref) == ("acme/app", "e2e.yml", "main")


def test_existing_url_checks_stay_valid(in_tmp: Path) -> None:
    shop = load_config(EXAMPLES / "shop" / "fluxgate.yaml")
    old_entry = "      - url: https://staging.acme.dev/healthz\n        contains: ok\n"
    old_style = load_text(in_tmp, BASE + old_entry)

    [check] = old_style.environment("staging").verification
    assert check == HttpCheck(url="https://staging.acme.dev/healthz", contains="ok")
    assert check.label == "GET https://staging.acme.dev/healthz" and check.tls.verify is True
    assert all(isinstance(c, HttpCheck) for env in shop.environments for c in env.verification)


def test_a_workflow_in_another_repo_keeps_its_repo(in_tmp: Path) -> None:
    text = "code_repo: acme/app\n" + BASE + "      - workflow: {repo: acme/e2e-suite, file: run.yaml}\n"

    [check] = load_text(in_tmp, text).environment("staging").verification

    assert isinstance(check, WorkflowCheck)
    assert check.workflow.repo == "acme/e2e-suite" and check.label == "workflow run.yaml"


def test_a_command_string_is_split_like_a_shell(in_tmp: Path) -> None:
    text = BASE + "      - container: {image: 'busybox:1.36', command: \"sh -c 'exit 0'\"}\n"

    [check] = load_text(in_tmp, text).environment("staging").verification

    assert isinstance(check, ContainerCheck) and check.container.command == ["sh", "-c", "exit 0"]
    assert check.label == "container busybox:1.36"


def test_a_relative_ca_file_is_beside_fluxgate_yaml(in_tmp: Path) -> None:
    text = BASE + "      - url: https://staging.acme.dev\n        tls: {ca_file: certs/ca.pem}\n"

    [check] = load_text(in_tmp, text).environment("staging").verification

    assert isinstance(check, HttpCheck) and check.tls.ca_file == str(in_tmp.resolve() / "certs" / "ca.pem")


@pytest.mark.parametrize(("seconds", "text"), [(300, "5m"), (5400, "1h30m"), (90, "1m30s"), (0, "0s"),
                                               (0.5, "0.5s")])
def test_durations_are_shown_as_they_are_written(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


# --- broken files ---------------------------------------------------------------------------------


def test_a_check_of_two_kinds_names_the_line_of_the_second(in_tmp: Path) -> None:
    text = BASE + "      - name: health\n        url: https://x.dev\n        container: {image: busybox}\n"

    assert problems(in_tmp, text) == [
        "fluxgate.yaml:19: environments[0].verification[0].container: a check is exactly one of url, "
        "container or workflow; this one has url and container"
    ]


def test_a_check_of_no_kind_names_its_line_and_what_it_has(in_tmp: Path) -> None:
    text = BASE + "      - url: https://x.dev\n      - name: typo\n        urll: https://x.dev\n"

    assert problems(in_tmp, text) == [
        "fluxgate.yaml:18: environments[0].verification[1]: a check needs one of url, container or "
        "workflow (it has name, urll)"
    ]


def test_a_check_that_is_not_a_mapping_is_refused(in_tmp: Path) -> None:
    assert problems(in_tmp, BASE + "      - https://x.dev\n") == [
        "fluxgate.yaml:17: environments[0].verification[0]: a check is a mapping with one of url, "
        "container or workflow"
    ]


def test_a_wrong_field_of_a_kind_names_its_own_line(in_tmp: Path) -> None:
    text = BASE + CHECKS.replace("timeout: 5m", "timeout: soon").replace("file: e2e.yml", "file: e2e")

    assert problems(in_tmp, "code_repo: acme/app\n" + text) == [
        "fluxgate.yaml:28: environments[0].verification[1].container.timeout: 'soon' is not a duration "
        "such as 90s, 10m or 1h30m",
        "fluxgate.yaml:30: environments[0].verification[2].workflow.file: 'e2e' is not a workflow file "
        "name such as e2e.yml",
    ]


def test_a_workflow_without_repo_needs_code_repo(in_tmp: Path) -> None:
    assert problems(in_tmp, BASE + "      - workflow: {file: e2e.yml}\n") == [
        "fluxgate.yaml:17: environments[0].verification[0].workflow: workflow check 'workflow e2e.yml' "
        "needs workflow.repo, or code_repo to be set"
    ]


@pytest.mark.parametrize(
    ("entry", "line", "field", "reason"),
    [
        ('    body: "{}"', 18, "body", "a body is sent with POST only, not GET"),
        ('    json: {path: "status..ready", equals: true}', 18, "json.path",
         "'status..ready' is not a dotted path such as status.ready or items.0.name"),
        ('    headers: {X-Token: "${secret:staging-token}"}', 18, "headers.X-Token",
         "'${secret:staging-token}': a secret name is letters, digits and '_'"),
        ('    headers: {X-Token: "${secret:TOKEN"}', 18, "headers.X-Token",
         "a ${secret:NAME} reference is not closed"),
        ("    tls: {verify: false, ca_file: ca.pem}", 18, "tls",
         "ca_file has no effect with verify: false; keep one of them"),
    ],
)
def test_a_wrong_http_setting_names_its_line(
    in_tmp: Path, entry: str, line: int, field: str, reason: str
) -> None:
    text = BASE + "      - url: https://x.dev\n    " + entry + "\n"

    where = f"fluxgate.yaml:{line}: environments[0].verification[0].{field}"
    assert problems(in_tmp, text) == [f"{where}: {reason}"]


def test_a_secret_in_a_url_is_refused_because_urls_are_shown(in_tmp: Path) -> None:
    text = BASE + "      - url: https://x.dev/?token=${secret:TOKEN}\n"

    assert problems(in_tmp, text) == [
        "fluxgate.yaml:17: environments[0].verification[0].url: a URL is shown in results: put secrets "
        "in headers or body"
    ]
