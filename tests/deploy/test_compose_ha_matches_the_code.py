"""docker-compose.ha.yml, Prefect's HA shape on top of docker-compose.yml, checked against the code that
runs the same shape in the sandbox (fluxgate/sandbox/prefect_ha.py), whose demo and test kill an API
server mid-release. Docker cannot run here: the files are read the way Compose reads them."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from fluxgate.sandbox.prefect_ha import api_command, ha_env, migrate_command, services_command
from tests.deploy.test_compose_stack_matches_the_code import (
    COMPOSE,
    REPO,
    _resolve,
    _schema_errors,
    argv,
    environment,
    read_env_file,
)

HA = REPO / "docker-compose.ha.yml"


class _ComposeLoader(yaml.SafeLoader):
    """YAML as Compose reads it, with its `!reset` / `!override` tags (Compose 2.24+)."""


_ComposeLoader.add_constructor("!reset", lambda loader, node: {"!reset": loader.construct_sequence(node)}
                               if isinstance(node, yaml.SequenceNode) else {"!reset": None})  # fmt: skip


def _load(path: Any) -> dict[str, Any]:
    loaded = yaml.load(path.read_text(), Loader=_ComposeLoader)
    assert isinstance(loaded, dict)
    return loaded


def _merged() -> dict[str, Any]:
    """docker-compose.yml with docker-compose.ha.yml on top, as `-f a -f b` merges them (services by
    name; environment, depends_on and other mappings key by key; `!reset` clears; a command replaces)."""
    base, ha = _load(COMPOSE), _load(HA)
    services = dict(base["services"])
    for name, override in ha["services"].items():
        service = dict(services.get(name, {}))
        for key, value in override.items():
            if isinstance(value, dict) and "!reset" in value:
                service.pop(key, None)
            elif isinstance(value, dict) and isinstance(service.get(key), dict):
                service[key] = {**service[key], **value}
            else:
                service[key] = value
        services[name] = service
    return {**base, "services": services, "configs": {**base.get("configs", {}), **ha.get("configs", {})}}


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    return _resolve(_merged(), read_env_file(REPO / ".env.example")[0])


def test_the_ha_file_follows_the_compose_specification() -> None:
    document = _load(HA)
    for service in document["services"].values():  # the tags are Compose's, not the schema's
        for key, value in list(service.items()):
            if isinstance(value, dict) and "!reset" in value:
                service[key] = []
    assert _schema_errors(document) == []


def test_prefect_runs_with_the_settings_the_sandbox_proves(merged: dict[str, Any]) -> None:
    """Every server process gets exactly the HA settings the sandbox runs (Redis at `redis`)."""
    expected = ha_env("redis://redis:6379/0")
    services = merged["services"]
    for name in ("prefect-migrate", "prefect-server", "prefect-services"):
        env = environment(services[name])
        assert {key: env.get(key) for key in expected} == expected, name
        assert env["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://prefect:"), name
    assert argv(services["prefect-migrate"]["command"]) == migrate_command()[1:]
    assert argv(services["prefect-services"]["command"]) == services_command()[1:]
    api = argv(services["prefect-server"]["command"])
    assert "--no-services" in api and api_command(4200)[1:3] == api[:2]
    assert services["prefect-server"]["deploy"]["replicas"] >= 2
    assert "ports" not in services["prefect-server"]  # replicas cannot share a host port
    depends = services["prefect-server"]["depends_on"]
    assert depends["prefect-migrate"] == {"condition": "service_completed_successfully"}


def test_the_runner_and_the_connector_go_through_the_balancer(merged: dict[str, Any]) -> None:
    services = merged["services"]
    for name in ("runner", "connector"):
        assert environment(services[name])["PREFECT_API_URL"] == "http://prefect-lb:4200/api", name
        assert "prefect-lb" in services[name]["depends_on"], name
    assert services["prefect-lb"]["ports"] == ["127.0.0.1:4200:4200"]


def test_the_balancer_checks_the_health_endpoint_of_every_api_server(merged: dict[str, Any]) -> None:
    config = merged["configs"]["prefect-haproxy"]["content"]
    assert "option httpchk GET /api/health" in config
    assert "option redispatch" in config and "bind :4200" in config
    template = re.search(r"server-template api (\d+) prefect-server:4200 check", config)
    assert template and int(template[1]) >= merged["services"]["prefect-server"]["deploy"]["replicas"]
    mount = merged["services"]["prefect-lb"]["configs"][0]
    assert mount["target"] == "/usr/local/etc/haproxy/haproxy.cfg"
