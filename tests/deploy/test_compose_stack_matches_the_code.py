"""docker-compose.yml, .env.example and deployments/Dockerfile agree with the Compose Specification and
with the code they run: the services a user relies on, the CLI options, the settings' variable names.

No Docker engine is needed. The file is checked against the Compose Specification's JSON schema (the
copy check-jsonschema ships) and, with the variables of .env.example substituted the way Compose does,
against fluxgate's own CLI parser and settings models. `docker compose config` runs too, where the
compose plugin is installed.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from importlib import metadata, resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema.validators import validator_for
from packaging.specifiers import SpecifierSet
from pydantic import BaseModel
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url
from typer.main import get_command

from fluxgate.cli import app
from fluxgate.connector import ConnectorSettings
from fluxgate.github import GitHubSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "deployments" / "Dockerfile"
FLUXGATE_SERVICES = ("prefect-server", "runner", "connector")  # built from deployments/Dockerfile
SECRETISH = re.compile(r"PASSWORD|SECRET|TOKEN|HMAC|PRIVATE_KEY|AUTH_STRING")

# -- reading the files the way Compose does ------------------------------------------------------------

_DOLLAR = re.compile(r"\$\$|\$\{(?P<braced>[^}]*)\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?", re.S)


class Unresolved(Exception):
    """A `${VAR:?message}` whose variable is not set: Compose refuses to start, with the message."""


def _references(text: str) -> Iterator[tuple[str, str | None]]:
    """(variable, operator) of every `${...}` / `$VAR` in `text`; `$$` is a literal dollar."""
    for match in _DOLLAR.finditer(text):
        if match["bare"]:
            yield match["bare"], None
        elif match["braced"] is not None:
            braced = _BRACED.fullmatch(match["braced"])
            assert braced, f"unsupported interpolation ${{{match['braced']}}} in {text!r}"
            yield braced["name"], braced["op"]


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation: `${V}`, `${V:-default}`, `${V-default}`, `${V:?err}`, `${V?err}`,
    `${V:+alt}`, `${V+alt}`, `$V`, and `$$` for a literal `$`."""

    def one(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        if match["bare"]:
            return env.get(match["bare"], "")
        braced = _BRACED.fullmatch(match["braced"])
        assert braced, f"unsupported interpolation {match[0]}"
        name, op, arg = braced["name"], braced["op"], braced["arg"] or ""
        value = env.get(name)
        set_, non_empty = value is not None, bool(value)
        present = non_empty if op and op.startswith(":") else set_
        if op in (":?", "?") and not present:
            raise Unresolved(f"{name}: {arg}")
        if op in (":-", "-"):
            return value if present and value is not None else arg
        if op in (":+", "+"):
            return arg if present else ""
        return value or ""

    return _DOLLAR.sub(one, text)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _resolve(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, Mapping):
        return {key: _resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, env) for item in node]
    return node


def read_env_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """The values set in an env file, and every name it mentions (also as a commented-out example)."""
    values: dict[str, str] = {}
    mentioned: set[str] = set()
    for line in path.read_text().splitlines():
        assignment = re.match(r"\s*(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)", line)
        if not assignment:
            continue
        commented, name, raw = assignment.groups()
        mentioned.add(name)
        if not commented:
            raw = raw.strip()
            values[name] = raw[1:-1] if raw[:1] in "'\"" and raw[-1:] == raw[:1] else raw
    return values, mentioned


def environment(service: Mapping[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.partition("=") for item in env)
        return {name: value if equals else None for name, equals, value in pairs}
    return {key: None if value is None else str(value) for key, value in env.items()}


def container_env(service: Mapping[str, Any], dotenv: Mapping[str, str]) -> dict[str, str]:
    """What a (resolved) service's container sees: a variable listed without a value comes from the
    env file when set there, and is unset otherwise."""
    return {
        name: value if value is not None else dotenv[name]
        for name, value in environment(service).items()
        if value is not None or name in dotenv
    }


def argv(value: str | list[str]) -> list[str]:
    return value.split() if isinstance(value, str) else [str(part) for part in value]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def cli_params(args: list[str]) -> dict[str, Any]:
    """`fluxgate <args>` parsed by the real CLI (typer/click): unknown options and bad values raise."""
    group = get_command(app)
    root = group.make_context("fluxgate", [], resilient_parsing=True)
    command = group.get_command(root, args[0])
    assert command is not None, f"`fluxgate {args[0]}` is not a fluxgate command"
    return dict(command.make_context(args[0], args[1:], parent=root).params)


def healthcheck_url(service: Mapping[str, Any]) -> str:
    test = " ".join(argv(service["healthcheck"]["test"]))
    found = re.search(r"https?://[^\s'\"]+", test)
    assert found, f"the healthcheck does not request a URL: {test}"
    return found[0]


def settings_env_names(model: type[BaseModel], prefix: str, delimiter: str) -> set[str]:
    """Every environment variable name pydantic-settings maps to a field of `model` (nested models too)."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        env_name = f"{prefix}{name}".upper()
        names.add(env_name)
        nested = [a for a in (field.annotation, *getattr(field.annotation, "__args__", ())) if a]
        for candidate in nested:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names |= settings_env_names(candidate, f"{env_name}{delimiter}", delimiter)
    return names


def settings_names(settings: type[BaseSettings]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    return settings_env_names(settings, prefix, settings.model_config.get("env_nested_delimiter") or "")


# -- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """docker-compose.yml as written (YAML anchors and merge keys applied, nothing interpolated)."""
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def dotenv() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)[0]


@pytest.fixture(scope="module")
def resolved(raw: dict[str, Any], dotenv: dict[str, str]) -> dict[str, Any]:
    """docker-compose.yml as Compose sees it with `cp .env.example .env`."""
    try:
        result = _resolve(raw, dotenv)
    except Unresolved as exc:
        pytest.fail(f".env.example leaves a variable Compose requires unset: {exc}")
    assert isinstance(result, dict)
    return result


@pytest.fixture(scope="module")
def services(resolved: dict[str, Any]) -> dict[str, Any]:
    found = resolved.get("services")
    assert isinstance(found, dict)
    return found


# -- the file is Compose -----------------------------------------------------------------------------------


def _compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendored.joinpath("compose-spec.json").read_text())
    assert isinstance(schema, dict)
    return schema


def _schema_errors(document: Any) -> list[str]:
    schema = _compose_schema()
    validator = validator_for(schema)
    validator.check_schema(schema)
    errors = validator(schema).iter_errors(document)
    return sorted(f"{error.json_path}: {error.message}" for error in errors)


def test_the_compose_file_follows_the_compose_specification(raw: dict[str, Any], resolved: dict[str, Any]):
    assert _schema_errors(raw) == []
    assert _schema_errors(resolved) == []


def test_the_schema_check_catches_a_misspelt_key(raw: dict[str, Any]):
    broken = copy.deepcopy(raw)
    broken["services"]["runner"]["restrat"] = broken["services"]["runner"].pop("restart")
    assert any("restrat" in error for error in _schema_errors(broken))


def _compose_plugin() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    version = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30, check=False)
    return version.returncode == 0


needs_compose = pytest.mark.skipif(not _compose_plugin(), reason="the docker compose plugin is not installed")


def _compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    """`docker compose config` as a user's machine runs it: only PATH, and the given env file."""
    return subprocess.run(
        ["docker", "compose", "--env-file", str(env_file), "-f", str(COMPOSE), "config", "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", "")},
        check=False,
    )


@needs_compose
def test_docker_compose_accepts_the_file_with_the_example_env():
    done = _compose_config(ENV_EXAMPLE)
    assert done.returncode == 0, done.stderr


@needs_compose
def test_docker_compose_refuses_to_start_without_the_secrets(tmp_path: Path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    done = _compose_config(empty)
    assert done.returncode != 0
    assert ".env" in done.stderr


# -- the services a user relies on -----------------------------------------------------------------------


def test_the_stack_has_postgres_prefect_a_runner_and_the_connector(services: dict[str, Any]):
    assert {"postgres", "prefect-server", "runner", "connector"} <= services.keys()


def test_every_service_restarts_and_reports_its_health(services: dict[str, Any]):
    for name, service in services.items():
        policy = service.get("deploy", {}).get("restart_policy", {})
        restart = service.get("restart") or policy.get("condition")
        assert restart in ("always", "unless-stopped", "on-failure", "any"), f"{name}: no restart policy"
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name}: no healthcheck"


def named_volume_at(resolved: dict[str, Any], service: str, target: str) -> str | None:
    """The named volume (declared under top-level `volumes:`) mounted at `target`, if any."""
    for mount in resolved["services"][service].get("volumes", []):
        source, _, rest = str(mount).partition(":")
        if rest.split(":")[0] == target and source in (resolved.get("volumes") or {}):
            return source
    return None


def test_postgres_keeps_its_data_on_a_volume_and_is_checked_with_pg_isready(
    resolved: dict[str, Any], services: dict[str, Any]
):
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in argv(postgres["healthcheck"]["test"])
    assert named_volume_at(resolved, "postgres", "/var/lib/postgresql/data")


def test_prefect_server_uses_postgres_and_requires_the_auth_string(
    raw: dict[str, Any], services: dict[str, Any]
):
    server = services["prefect-server"]
    args = argv(server["command"])
    assert args[:2] == ["server", "start"] and option(args, "--host") == "0.0.0.0"
    official = server.get("image", "").startswith("prefecthq/prefect:")
    assert official or argv(server.get("entrypoint", [])) == ["prefect"]
    env = environment(server)
    database = make_url(env["PREFECT_API_DATABASE_CONNECTION_URL"] or "")
    assert (database.drivername, database.host) == ("postgresql+asyncpg", "postgres")
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert urlsplit(healthcheck_url(server)).path == "/api/health"
    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"

    written = environment(raw["services"]["prefect-server"])["PREFECT_SERVER_API_AUTH_STRING"] or ""
    (variable, operator), *_ = _references(written)
    assert written.startswith("${") and operator in (":?", "?"), "the auth string must come from .env"
    for client in ("runner", "connector"):
        client_env = environment(raw["services"][client])
        assert [ref[0] for ref in _references(client_env["PREFECT_API_AUTH_STRING"] or "")] == [variable]
        assert urlsplit(client_env["PREFECT_API_URL"] or "").netloc == f"prefect-server:{_port(args, 4200)}"


def _port(args: list[str], default: int) -> int:
    return int(option(args, "--port")) if "--port" in args else default


def test_the_runner_serves_the_stage_deployment_with_results_on_a_volume(
    resolved: dict[str, Any], services: dict[str, Any], dotenv: dict[str, str]
):
    runner = services["runner"]
    args = argv(runner["command"])
    assert args[0] == "serve"
    cli_params(args)
    env = container_env(runner, dotenv)
    assert env["PREFECT_RESULTS_PERSIST_BY_DEFAULT"] == "true"
    results = env["PREFECT_LOCAL_STORAGE_PATH"]
    assert named_volume_at(resolved, "runner", results), f"results in {results} are not on a named volume"
    assert env["PREFECT_RUNNER_SERVER_ENABLE"] == "true"
    assert urlsplit(healthcheck_url(runner)).port == int(env["PREFECT_RUNNER_SERVER_PORT"])


def test_the_connector_command_parses_and_its_port_is_the_one_checked_and_exposed(
    services: dict[str, Any], dotenv: dict[str, str]
):
    connector = services["connector"]
    params = cli_params(argv(connector["command"]))
    port = params["port"]
    assert params["host"] == "0.0.0.0"
    assert urlsplit(healthcheck_url(connector)).port == port
    assert urlsplit(healthcheck_url(connector)).path == "/healthz"
    assert str(port) in [str(p).split("/")[0] for p in connector.get("expose", [])]
    for published in connector.get("ports", []):  # several replicas cannot share one fixed host port
        assert "-" in str(published).rsplit(":", 1)[0], f"fixed host port {published} with replicas"
    upstream = f"connector:{port}"
    fronts = [n for n, s in services.items() if upstream in argv(s.get("command") or []) and s.get("ports")]
    assert fronts, "nothing publishes one address for the connector replicas"

    # The connector reads one file for routing; nothing mounts a code checkout: stages fetch what they
    # render from GitHub at the release's commits.
    [config] = params["config"]
    assert f"{dotenv['APP_CONFIG']}:{config}:ro" in [str(v) for v in connector["volumes"]]
    assert "CODE_REPO_DIR" not in dotenv and "FLUXGATE_HOME" not in dotenv
    runner_mounts = [str(v).split(":")[0] for v in services["runner"].get("volumes", [])]
    assert runner_mounts == ["results"], "the runner needs no checkout, only its results volume"


def test_connector_replicas_share_one_postgresql_store(services: dict[str, Any], raw: dict[str, Any]):
    connector = services["connector"]
    assert connector.get("deploy", {}).get("replicas", 1) >= 2
    assert "container_name" not in connector, "a fixed container name cannot be scaled"
    url = make_url(environment(connector)["FLUXGATE_DATABASE_URL"] or "")
    assert url.host == "postgres" and url.get_backend_name() == "postgresql"
    # The image installs the driver the URL names (it is not a core dependency).
    assert url.get_driver_name() == "psycopg"
    assert re.search(r"pip install [^\n]*\.\[postgres,", DOCKERFILE.read_text())
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("psycopg") for d in extras["postgres"])
    # ... and PostgreSQL creates the role and database the URL names on first start.
    init = raw["configs"]["postgres-init"]["content"]
    assert f"CREATE ROLE {url.username} LOGIN" in init and f"CREATE DATABASE {url.database} OWNER" in init
    assert connector["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_connector_settings_load_from_the_services_environment(
    services: dict[str, Any], dotenv: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    for name in list(os.environ):
        if name.startswith("FLUXGATE_"):
            monkeypatch.delenv(name)
    for name, value in container_env(services["connector"], dotenv).items():
        monkeypatch.setenv(name, value)
    settings = ConnectorSettings()
    assert settings.database_url and settings.flux_hmac_key and settings.webhook_secret
    assert settings.github is not None and settings.github.token is not None


def test_every_fluxgate_variable_is_a_real_setting(services: dict[str, Any]):
    known = settings_names(ConnectorSettings) | settings_env_names(GitHubSettings, "FLUXGATE_GITHUB__", "__")
    for name, service in services.items():
        for variable in environment(service):
            if variable.startswith("FLUXGATE_SECRET_"):  # `${secret:NAME}` in fluxgate.yaml checks
                continue
            if variable.startswith("FLUXGATE_"):
                assert variable in known, f"{name}: {variable} is no fluxgate setting"


# -- secrets stay in .env ----------------------------------------------------------------------------------


def test_every_variable_the_compose_file_uses_is_in_env_example(raw: dict[str, Any]):
    values, mentioned = read_env_file(ENV_EXAMPLE)
    used = {name: op for text in _strings(raw) for name, op in _references(text)}
    assert sorted(set(used) - mentioned) == []
    required = sorted(name for name, op in used.items() if op in (":?", "?"))
    assert [name for name in required if name not in values] == [], "required but commented out"
    passed_on = {v for s in raw["services"].values() for v, value in environment(s).items() if value is None}
    assert sorted(passed_on - mentioned) == []
    assert sorted(set(values) - set(used) - passed_on) == [], ".env.example sets what nothing reads"


def test_no_secret_is_written_in_the_compose_file(raw: dict[str, Any]):
    for name, service in raw["services"].items():
        for variable, value in environment(service).items():
            if value is None or not SECRETISH.search(variable):
                continue
            only = re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}", value)
            assert only, f"{name}: {variable} must be `${{VAR:?...}}` from .env, not {value!r}"
    for text in _strings(raw):
        for url in re.findall(r"[a-z+]+://[^\s'\"]+", text):
            password = urlsplit(url.replace("${", "{").replace("}", "")).password
            if password:
                assert re.search(r"://[^:/]+:\$\{[A-Za-z_][A-Za-z0-9_]*:?\?", url), f"password in {url}"


def test_env_is_ignored_by_git_and_by_the_image_build():
    for secret in (".env", "checks.env"):
        ignored = subprocess.run(["git", "check-ignore", "-q", secret], cwd=REPO, check=False, timeout=30)
        assert ignored.returncode == 0, f"{secret} is not in .gitignore"
        assert secret in (REPO / ".dockerignore").read_text().split()
    example = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=REPO, check=False, timeout=30)
    assert example.returncode == 1, ".env.example must be committed"


def test_run_links_point_where_a_browser_goes(services: dict[str, Any]) -> None:
    """The runner writes run links into GitHub Deployments, the CLI prints them: not the API's
    in-network address (prefect-server:4200) but the UI's published one."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    from fluxgate.prefect_api import run_url

    for name in ("runner", "connector"):
        env = services[name]["environment"]
        assert env["PREFECT_UI_URL"] == "http://localhost:4200", name
    settings = {PREFECT_UI_URL: env["PREFECT_UI_URL"], PREFECT_API_URL: env["PREFECT_API_URL"]}
    with temporary_settings(settings):
        assert run_url("x").startswith("http://localhost:4200/runs/flow-run/")


def test_check_secrets_reach_the_runner_only_from_their_own_file(raw: dict[str, Any]) -> None:
    """Verification checks read `${secret:NAME}` from FLUXGATE_SECRET_NAME (fluxgate.stage.secrets):
    the runner runs them, so it alone reads checks.env (optional; git- and docker-ignored)."""
    from fluxgate.stage.secrets import ENV_PREFIX

    assert ENV_PREFIX == "FLUXGATE_SECRET_"
    services = raw["services"]
    assert services["runner"]["env_file"] == [{"path": "checks.env", "required": False}]
    assert [n for n, s in services.items() if "env_file" in s] == ["runner"]
    assert "FLUXGATE_SECRET_" in (REPO / ".env.example").read_text()


# -- the image ---------------------------------------------------------------------------------------------


def _dockerfile(instruction: str) -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.split(None, 1) for line in text.splitlines()]
    return [words[1] for words in lines if len(words) == 2 and words[0].upper() == instruction]


def test_the_image_runs_the_fluxgate_console_script_as_a_user(raw: dict[str, Any]):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    entrypoint = json.loads(_dockerfile("ENTRYPOINT")[-1])
    assert entrypoint[0] in project["scripts"]
    base = _dockerfile("FROM")[-1]
    python = re.match(r"python:(\d+\.\d+)-slim", base)
    assert python and python[1] in SpecifierSet(project["requires-python"])
    assert any(re.search(r"apt-get install .*\bgit\b", run) for run in _dockerfile("RUN"))
    installs = r"pip install \"?\.(\[postgres,ha,kubernetes\])?\"?(\s|$)"
    assert any(re.search(installs, run) for run in _dockerfile("RUN"))
    # what the servers of the HA shape import (prefect_redis) and the Kubernetes worker needs are in it
    extras = project["optional-dependencies"]
    assert any(d.startswith("prefect-redis") for d in extras["ha"])
    assert any(d.startswith("prefect-kubernetes") for d in extras["kubernetes"])
    user = _dockerfile("USER")[-1]
    assert user not in ("root", "0")
    for name in FLUXGATE_SERVICES:
        build = raw["services"][name]["build"]
        assert (REPO / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    # prefect-server runs the image with `--entrypoint prefect`: Prefect's console script is in it.
    assert "prefect" in {ep.name for ep in metadata.entry_points(group="console_scripts")}


def test_the_image_holds_the_package_and_no_code_checkout():
    """The runner renders from GitHub at the release's commits: the image copies only the package."""
    copied = {source for line in _dockerfile("COPY") for source in line.split()[:-1]}
    assert copied == {"pyproject.toml", "README.md", "fluxgate", "flows", "tasks", "blocks"}
    text = (REPO / "deployments" / "Dockerfile").read_text()
    assert "examples" not in text and "CODE_REPO" not in text and "FLUXGATE_HOME" not in text


def test_the_image_ships_without_the_sandbox_and_needs_none():
    """The build context leaves `fluxgate/sandbox` out; everything the image runs works without it."""
    assert "fluxgate/sandbox" in (REPO / ".dockerignore").read_text().splitlines()
    script = "\n".join([
        "import sys",
        "sys.modules['fluxgate.sandbox'] = None  # as in the image: importing it fails",
        "import flows.deploy_stage, flows.ci, fluxgate.connector.service, fluxgate.cli",
        "from fluxgate.cli import app",
        "print(sorted(c.name or c.callback.__name__ for c in app.registered_commands))",
        "print(sorted(g.name for g in app.registered_groups))",
    ])
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                           check=False, cwd=REPO)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    commands, groups = shown.stdout.splitlines()
    assert "deploy" in commands and "connector" in commands and "serve" in commands
    assert "demo" not in commands and groups == "[]"
