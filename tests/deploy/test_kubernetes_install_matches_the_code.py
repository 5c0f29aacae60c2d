"""deploy/kubernetes, as Flux would apply it, is valid Kubernetes and Flux, and agrees with the code it runs.

Rendered with `kubectl kustomize` (the kustomize Flux's kustomize-controller embeds), the way the README
installs it: the base, the optional `cluster-access` component, the user's own ConfigMap and, per
cluster, `cluster/` with Flux's postBuild substitution. Built-in kinds are checked with fluxgate's own
schema validation (strict: an unknown field is an error); Flux's kinds with the validators generated
from Flux's CRDs (npm `@kubernetes-models/flux-cd`, installed by `make unit`). Then against the code:
the connector's CLI and settings, its routes and readiness checks, the watchdog's API reads, the
metadata the connector routes Flux events by; and the work pool's job template, with the stage
deployment of deployments/prefect.yaml registered on it by `prefect deploy` on a real Prefect server,
turned into the Job a worker would create.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration

from fluxgate.connector import ConnectorSettings
from fluxgate.connector.app import create_app
from fluxgate.connector.flux_events import parse_flux_event
from fluxgate.connector.kube import FLUX_APIS
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.readiness import CHECK_NAMES
from fluxgate.connector.store import Store
from fluxgate.github import GitHubSettings
from fluxgate.release import Source
from fluxgate.stage.naming import StageRequest
from fluxgate.validate import SchemaValidator
from tests.conftest import kubectl_path
from tests.deploy.test_compose_stack_matches_the_code import (
    SECRETISH,
    cli_params,
    settings_env_names,
    settings_names,
)

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "deploy" / "kubernetes"
CLUSTER = INSTALL / "cluster"
ACCESS = INSTALL / "components" / "cluster-access"
JOB_TEMPLATE = INSTALL / "worker" / "base-job-template.json"
NPM = REPO / ".cache" / "npm"
FLUX_MODELS = NPM / "node_modules" / "@kubernetes-models" / "flux-cd"
APP_CONFIG = REPO / "examples" / "shop" / "fluxgate.yaml"
CLUSTER_VARIABLES = {
    "fluxgate_url": "https://fluxgate.example.com",
    "fluxgate_app": "shop",
    "fluxgate_env": "prod",
    "fluxgate_cluster": "prod-eu",
}
# What Pod Security `restricted` admits besides these: csi, ephemeral, projected, downwardAPI.
RESTRICTED_VOLUMES = {"configMap", "secret", "emptyDir", "persistentVolumeClaim", "projected", "downwardAPI"}

Doc = dict[str, Any]

# -- rendering, as Flux does -----------------------------------------------------------------------


def kustomize(folder: Path) -> list[Doc]:
    done = subprocess.run(
        [kubectl_path(), "kustomize", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"kubectl kustomize {folder}: {done.stderr.strip()}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


_VARIABLE = re.compile(r"\$\{([_a-zA-Z][_a-zA-Z0-9]*)\}")


def substitute(text: str, variables: dict[str, str]) -> str:
    """Flux's postBuild substitution of `${var}`; a variable left unset fails, as with Flux's strict mode."""

    def one(match: re.Match[str]) -> str:
        assert match[1] in variables, f"${{{match[1]}}} is not set"
        return variables[match[1]]

    return _VARIABLE.sub(one, text)


def user_overlay(root: Path, components: list[Path]) -> Path:
    """The user's side of the README's install: the base, components, and their fluxgate.yaml."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "fluxgate.yaml").write_text(APP_CONFIG.read_text())
    (root / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(INSTALL, root)],
        "components": [os.path.relpath(c, root) for c in components],
        "configMapGenerator": [{
            "name": "fluxgate-app", "namespace": "fluxgate", "files": ["fluxgate.yaml"],
            "options": {"disableNameSuffixHash": True},
        }],
    }))  # fmt: skip
    return root


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def named(items: list[Doc], name: str) -> Doc:
    return next(item for item in items if item["name"] == name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> list[Doc]:
    return kustomize(user_overlay(tmp_path_factory.mktemp("fleet") / "fluxgate", [ACCESS]))


@pytest.fixture(scope="module")
def base() -> list[Doc]:
    return kustomize(INSTALL)


@pytest.fixture(scope="module")
def cluster() -> list[Doc]:
    rendered = yaml.safe_dump_all(kustomize(CLUSTER))
    return [doc for doc in yaml.safe_load_all(substitute(rendered, CLUSTER_VARIABLES)) if doc]


def readme_flux_objects() -> list[Doc]:
    blocks = re.findall(r"^```yaml\n(.*?)^```", (REPO / "README.md").read_text(), re.S | re.M)
    docs = [doc for block in blocks for doc in yaml.safe_load_all(block) if isinstance(doc, dict)]
    return [doc for doc in docs if ".fluxcd.io/" in str(doc.get("apiVersion"))]


# -- validation ------------------------------------------------------------------------------------


def flux_problems(objects: list[Doc]) -> list[list[str]]:
    if not FLUX_MODELS.is_dir():
        pytest.fail(f"{FLUX_MODELS} is missing: `make unit` installs it (npm)", pytrace=False)
    done = subprocess.run(
        ["node", str(Path(__file__).with_name("flux_schema.mjs")), str(NPM)],
        input=json.dumps(objects), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    problems: list[list[str]] = json.loads(done.stdout)
    return problems


def label(doc: Doc) -> str:
    return f"{doc['kind']}/{doc['metadata'].get('name') or doc['metadata']['generateName']}"


def problems(docs: list[Doc]) -> dict[str, list[str]]:
    """Per object (`Kind/name`), what is wrong with it; only objects with problems are listed."""
    validator = SchemaValidator(strict=True, missing="error")
    flux = [doc for doc in docs if ".fluxcd.io/" in doc["apiVersion"]]
    found = {label(doc): wrong for doc, wrong in zip(flux, flux_problems(flux), strict=True) if wrong}
    for doc in docs:
        if doc not in flux and (wrong := validator.problems(doc)):
            found[label(doc)] = wrong
    return found


def restricted_problems(where: str, pod: Doc) -> list[str]:
    """What Pod Security `restricted` (the namespace's level) would refuse in a pod spec."""
    found = []
    pod_context = pod.get("securityContext", {})
    for container in pod["containers"]:
        context = container.get("securityContext", {})
        label = f"{where} container {container['name']}"
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            found.append(f"{label}: runAsNonRoot is not true")
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{label}: allowPrivilegeEscalation is not false")
        if "ALL" not in context.get("capabilities", {}).get("drop", []):
            found.append(f"{label}: capabilities do not drop ALL")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
        if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"{label}: no RuntimeDefault seccomp profile")
    for volume in pod.get("volumes", []):
        if not set(volume) - {"name"} <= RESTRICTED_VOLUMES:
            found.append(f"{where} volume {volume['name']}: not allowed under restricted")
    return found


def test_every_object_is_valid_kubernetes_or_flux(installed: list[Doc], cluster: list[Doc]) -> None:
    assert problems(installed) == {}
    assert problems(cluster) == {}
    assert problems(readme_flux_objects()) == {}
    kinds = {doc["kind"] for doc in installed + cluster}
    expected = {"Deployment", "Service", "PodDisruptionBudget", "Role", "ClusterRole", "Provider", "Alert"}
    assert expected <= kinds


def test_the_checks_catch_a_misspelt_field(installed: list[Doc], cluster: list[Doc]) -> None:
    connector = json.loads(json.dumps(find(installed, "Deployment", "fluxgate-connector")))
    container = connector["spec"]["template"]["spec"]["containers"][0]
    container["livenesProbe"] = container.pop("livenessProbe")
    alert = json.loads(json.dumps(find(cluster, "Alert", "fluxgate")))
    alert["spec"]["eventSources"][1]["kind"] = "Kustomizaton"
    assert problems([connector, alert]) == {
        "Deployment/fluxgate-connector": [
            "spec.template.spec.containers[0] must not contain {'livenesProbe'} properties"
        ],
        "Alert/fluxgate": ["data/spec/eventSources/1/kind must be equal to one of the allowed values"],
    }


def test_every_pod_runs_unprivileged_as_the_namespace_demands(installed: list[Doc]) -> None:
    namespace = find(installed, "Namespace", "fluxgate")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    found = []
    for doc in installed:
        if doc["kind"] == "Deployment":
            assert doc["metadata"]["namespace"] == "fluxgate"
            found += restricted_problems(doc["metadata"]["name"], doc["spec"]["template"]["spec"])
    assert found == []


# -- the connector ---------------------------------------------------------------------------------


def connector_parts(docs: list[Doc]) -> tuple[Doc, Doc, Doc]:
    deployment = find(docs, "Deployment", "fluxgate-connector")
    pod = deployment["spec"]["template"]["spec"]
    return deployment, pod, pod["containers"][0]


def test_two_connector_replicas_are_kept_available_behind_one_service(installed: list[Doc]) -> None:
    deployment, _pod, container = connector_parts(installed)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budget = find(installed, "PodDisruptionBudget", "fluxgate-connector")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert 1 <= budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    service = find(installed, "Service", "fluxgate-connector")
    assert service["spec"]["selector"].items() <= labels.items()
    [port] = service["spec"]["ports"]
    [container_port] = container["ports"]
    assert port["targetPort"] in (container_port["name"], container_port["containerPort"])
    params = cli_params(container["args"])
    assert params["port"] == container_port["containerPort"] and params["host"] == "0.0.0.0"


def test_the_connector_reads_its_config_and_scratch_where_they_are_mounted(installed: list[Doc]) -> None:
    _deployment, pod, container = connector_parts(installed)
    params = cli_params(container["args"])
    mounts = {Path(m["mountPath"]): named(pod["volumes"], m["name"]) for m in container["volumeMounts"]}
    [config] = params["config"]
    app = mounts[config.parent]
    assert app["configMap"]["name"] == "fluxgate-app"
    app_map = find(installed, "ConfigMap", "fluxgate-app")
    assert app_map["data"][config.name] == APP_CONFIG.read_text()
    assert "emptyDir" in mounts[params["data"]], "the data folder is per replica scratch space"


def test_the_probes_ask_paths_the_connector_answers(installed: list[Doc], tmp_path: Path) -> None:
    _deployment, _pod, container = connector_parts(installed)
    kinds = ("startupProbe", "livenessProbe", "readinessProbe")
    probes = {kind: container[kind]["httpGet"] for kind in kinds}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert all(probe["port"] in ports for probe in probes.values())
    assert probes["livenessProbe"]["path"] == probes["startupProbe"]["path"] == "/healthz"
    readiness = urlsplit(probes["readinessProbe"]["path"])
    assert readiness.path == "/readyz"
    excluded = parse_qs(readiness.query)["exclude"]
    assert set(excluded) <= set(CHECK_NAMES) and "store" not in excluded, "ready means deliveries are stored"

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    checks = (lambda: ("prefect", False, "http://prefect:4200/api: refused"),)
    app = create_app(
        store, Metrics(), flux_key="k", webhook_secret="s", max_body=1 << 20, ready_checks=checks
    )

    async def ask(*paths: str) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://connector") as client:
            return [await client.get(path) for path in paths]

    live, ready, monitored = asyncio.run(
        ask(probes["livenessProbe"]["path"], probes["readinessProbe"]["path"], "/readyz")
    )
    assert live.status_code == 200
    assert ready.status_code == 200, ready.text  # Prefect down: still takes deliveries
    assert ready.json()["problems"] == {"prefect": "http://prefect:4200/api: refused"}
    assert monitored.status_code == 503  # what monitoring sees
    store.engine.dispose()


def container_environment(docs: list[Doc], container: Doc) -> dict[str, Doc]:
    """Every variable a container gets, as `{"value": ...}` or `{"secret": key}`."""
    found: dict[str, Doc] = {}
    for source in container.get("envFrom", []):
        for key, value in find(docs, "ConfigMap", source["configMapRef"]["name"])["data"].items():
            found[key] = {"value": value}
    for item in container.get("env", []):
        if "value" in item:
            found[item["name"]] = {"value": item["value"]}
        elif "secretKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["secretKeyRef"]
            found[item["name"]] = {"secret": ref["key"], "from": ref["name"], "optional": ref.get("optional")}
        else:
            found[item["name"]] = {"field": item["valueFrom"]}
    return found


def test_the_connector_settings_are_real_and_secrets_come_from_the_secret(
    installed: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    _deployment, _pod, container = connector_parts(installed)
    env = container_environment(installed, container)
    known = settings_names(ConnectorSettings) | settings_env_names(GitHubSettings, "FLUXGATE_GITHUB__", "__")
    for name, source in env.items():
        if name.startswith("FLUXGATE_"):
            assert name in known, f"{name} is no fluxgate setting"
        if SECRETISH.search(name) or name == "FLUXGATE_DATABASE_URL":  # the URL holds a password
            assert source.get("from") == "fluxgate", f"{name} must come from the Secret `fluxgate`"
            assert source["secret"] == name, "the Secret is keyed by setting name"
    required = {name for name, source in env.items() if "secret" in source and not source["optional"]}
    assert required == {"FLUXGATE_DATABASE_URL", "FLUXGATE_FLUX_HMAC_KEY", "FLUXGATE_WEBHOOK_SECRET"}

    for name in list(os.environ):
        if name.startswith(("FLUXGATE_", "PREFECT_")):
            monkeypatch.delenv(name)
    for name, source in env.items():
        if "value" in source or not source["optional"]:
            monkeypatch.setenv(name, source.get("value", f"value-of-{name}"))
    monkeypatch.setenv("FLUXGATE_DATABASE_URL", "postgresql+psycopg://fluxgate:pw@postgres:5432/fluxgate")
    monkeypatch.setenv("FLUXGATE_GITHUB__TOKEN", "ghp_example")  # a token, or the three App settings
    settings = ConnectorSettings()
    assert settings.missing_keys() == [] and settings.database_url
    assert settings.github is not None and settings.github.token is not None
    from prefect.settings import Settings

    prefect = Settings()
    assert str(prefect.api.url) == env["PREFECT_API_URL"]["value"]
    assert prefect.ui_url == env["PREFECT_UI_URL"]["value"]


def test_the_watchdogs_kubeconfig_is_mounted_where_the_connector_reads_it(
    installed: list[Doc], base: list[Doc]
) -> None:
    _deployment, pod, container = connector_parts(installed)
    env = container_environment(installed, container)
    path = Path(env["FLUXGATE_KUBECONFIG"]["value"])
    mounts = {Path(m["mountPath"]): named(pod["volumes"], m["name"]) for m in container["volumeMounts"]}
    assert mounts[path.parent]["secret"]["secretName"] == "fluxgate-kubeconfig"
    # without the component, no kubeconfig is needed (the watchdog then asks GitHub)
    _deployment, _pod, plain = connector_parts(base)
    assert "FLUXGATE_KUBECONFIG" not in {item["name"] for item in plain["env"]}


# -- each cluster's Flux objects -------------------------------------------------------------------


def test_flux_sends_every_event_signed_to_the_connector_with_its_routing_metadata(cluster: list[Doc]) -> None:
    provider = find(cluster, "Provider", "fluxgate")
    assert provider["spec"]["type"] == "generic-hmac"
    assert provider["spec"]["address"] == f"{CLUSTER_VARIABLES['fluxgate_url']}/flux/events"
    alert = find(cluster, "Alert", "fluxgate")
    assert alert["spec"]["providerRef"]["name"] == "fluxgate"
    assert alert["spec"]["eventSeverity"] == "info", "the connector needs progress, not only errors"
    assert {s["kind"] for s in alert["spec"]["eventSources"]} >= {"Kustomization", "HelmRelease"}
    assert all(s["name"] == "*" for s in alert["spec"]["eventSources"])
    event = parse_flux_event({
        "involvedObject": {"kind": "Kustomization", "name": "shop", "namespace": "flux-system"},
        "severity": "info", "timestamp": "2026-12-03T18:00:00Z", "reason": "Progressing", "message": "",
        "reportingController": "kustomize-controller", "metadata": alert["spec"]["eventMetadata"],
    })  # fmt: skip
    assert (event.env, event.cluster, event.metadata["app"]) == ("prod", "prod-eu", "shop")
    cluster_wide = ("ClusterRole", "ClusterRoleBinding")
    assert all(d["metadata"]["namespace"] == "flux-system" for d in cluster if d["kind"] not in cluster_wide)
    documented = set(re.findall(r"^#\s+(fluxgate_\w+)", (CLUSTER / "kustomization.yaml").read_text(), re.M))
    assert documented == set(CLUSTER_VARIABLES)


def test_the_watchdog_may_get_exactly_what_it_reads(cluster: list[Doc]) -> None:
    role = find(cluster, "ClusterRole", "fluxgate-watchdog")
    granted = {(rule["apiGroups"][0], resource, tuple(rule["verbs"])) for rule in role["rules"]
               for resource in rule["resources"]}  # fmt: skip
    assert granted == {(group, plural, ("get",)) for group, _version, plural in FLUX_APIS.values()}
    binding = find(cluster, "ClusterRoleBinding", "fluxgate-watchdog")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    [subject] = binding["subjects"]
    account = find(cluster, "ServiceAccount", subject["name"])
    assert subject["namespace"] == account["metadata"]["namespace"]
    token = find(cluster, "Secret", "fluxgate-watchdog-token")
    assert token["type"] == "kubernetes.io/service-account-token"
    assert token["metadata"]["annotations"]["kubernetes.io/service-account.name"] == subject["name"]


# -- the worker and the Jobs it starts -------------------------------------------------------------


def worker_parts(docs: list[Doc]) -> tuple[Doc, Doc]:
    pod = find(docs, "Deployment", "fluxgate-worker")["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


def test_the_worker_polls_the_pool_with_the_shipped_job_template(
    installed: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    pod, container = worker_parts(installed)
    assert container["command"] == ["prefect"] and container["args"][:2] == ["worker", "start"]
    args = container["args"]
    option = {args[i]: args[i + 1] for i in range(2, len(args) - 1) if args[i].startswith("--")}
    assert option["--pool"] == "fluxgate-k8s" and option["--type"] == "kubernetes"
    assert option["--install-policy"] == "never", "the image has what it needs; nothing is pip-installed"
    template = Path(option["--base-job-template"])
    mounts = {Path(m["mountPath"]): named(pod["volumes"], m["name"]) for m in container["volumeMounts"]}
    template_map = find(installed, "ConfigMap", mounts[template.parent]["configMap"]["name"])
    assert json.loads(template_map["data"][template.name]) == json.loads(JOB_TEMPLATE.read_text())

    env = container_environment(installed, container)
    for name in list(os.environ):
        if name.startswith("PREFECT_"):
            monkeypatch.delenv(name)
    for name, source in env.items():
        monkeypatch.setenv(name, source.get("value", "fluxgate"))
    from prefect.settings import Settings
    from prefect_kubernetes.settings import KubernetesSettings

    health = named(container["ports"], container["livenessProbe"]["httpGet"]["port"])
    assert Settings().worker.webserver.port == health["containerPort"]
    assert KubernetesSettings().observer.namespaces == {"fluxgate"}  # its own namespace, from fieldRef
    assert env["PREFECT_INTEGRATIONS_KUBERNETES_OBSERVER_NAMESPACES"]["field"] == {
        "fieldRef": {"fieldPath": "metadata.namespace"}
    }
    assert "--with-healthcheck" in args

    account = find(installed, "ServiceAccount", pod["serviceAccountName"])
    binding = find(installed, "RoleBinding", "fluxgate-worker")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"],
                                    "namespace": "fluxgate"}]  # fmt: skip
    rules = find(installed, "Role", binding["roleRef"]["name"])["rules"]
    allowed = {(group, resource, verb) for r in rules for group in r["apiGroups"]
               for resource in r["resources"] for verb in r["verbs"]}  # fmt: skip
    needed = {("batch", "jobs", v) for v in ("create", "get", "list", "watch", "delete")}
    needed |= {("", "pods", v) for v in ("get", "list", "watch")} | {("", "pods/log", "get")}
    assert needed <= allowed
    assert not any(kind == "ClusterRole" for kind in (d["kind"] for d in installed)), "no cluster-wide rights"


@pytest.fixture
def k8s_pool(prefect_api: str) -> Any:
    """The `fluxgate-k8s` pool as the worker creates it from the shipped template, on the session's
    Prefect server; removed afterwards with the deployment registered on it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: prefect_api}), get_client(sync_client=True) as client:
        pool = client.create_work_pool(
            WorkPoolCreate(name="fluxgate-k8s", type="kubernetes",
                           base_job_template=json.loads(JOB_TEMPLATE.read_text())),
            overwrite=True,
        )  # fmt: skip
        yield client, pool
        for deployment in client.read_deployments():
            if deployment.work_pool_name == pool.name:
                client.delete_deployment(deployment.id)
        client.delete_work_pool(pool.name)


def test_a_stage_run_on_the_kubernetes_pool_becomes_a_job_that_can_run(
    k8s_pool: Any, prefect_api: str, installed: list[Doc]
) -> None:
    client, pool = k8s_pool
    image = "registry.example.com/platform/fluxgate:0.1.0"
    # The README's command, as written.
    command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--prefect-file",
               "deployments/prefect.yaml", "--name", "deploy-stage", "--pool", "fluxgate-k8s",
               "--job-variable", f"image={image}"]  # fmt: skip
    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    deployment = client.read_deployment_by_name("deploy-stage/deploy-stage")
    assert deployment.work_pool_name == "fluxgate-k8s"
    request = StageRequest(
        app="shop", version="1.0.0", env="dev", images={"web": "ghcr.io/acme/shop-web:1.0.0"},
        source=Source(repo="acme/shop", commit="a" * 40),
    )  # fmt: skip
    flow_run = client.create_flow_run_from_deployment(
        deployment.id, parameters={"request": request.model_dump(mode="json")}
    )
    flow = client.read_flow(deployment.flow_id)
    variables = deployment.job_variables or {}

    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def job_manifest() -> Doc:
        template = pool.base_job_template
        config = await KubernetesWorkerJobConfiguration.from_template_and_values(template, variables)
        config.prepare_for_flow_run(flow_run, deployment, flow, pool, "worker")
        return config.job_manifest

    with temporary_settings({PREFECT_API_URL: prefect_api}):
        job = asyncio.run(job_manifest())
    client.delete_flow_run(flow_run.id)

    pod = job["spec"]["template"]["spec"]
    # prefect-kubernetes insists on these two in the pod spec, where Kubernetes has no such fields
    # (its own manifest check refuses a template without them); the API server drops them with a warning.
    assert (pod.pop("parallelism"), pod.pop("completions")) == (1, 1)
    assert problems([job]) == {}
    [container] = pod["containers"]
    assert restricted_problems("stage Job", pod) == []
    assert job["metadata"]["namespace"] == "fluxgate"
    assert container["image"] == image
    assert container["args"] == ["prefect", "flow-run", "execute"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["PREFECT__FLOW_RUN_ID"] == str(flow_run.id) and env["PREFECT_API_URL"] == prefect_api
    assert container["envFrom"] == [{"secretRef": {"name": "fluxgate-stage"}}]
    # results land on the shared claim the install creates, at the path the deployment names
    results = env["PREFECT_LOCAL_STORAGE_PATH"]
    assert env["PREFECT_RESULTS_PERSIST_BY_DEFAULT"] == "true"
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == results]
    claim = named(pod["volumes"], mount["name"])["persistentVolumeClaim"]["claimName"]
    assert find(installed, "PersistentVolumeClaim", claim)["spec"]["accessModes"] == ["ReadWriteMany"]
    account = find(installed, "ServiceAccount", pod["serviceAccountName"])
    assert account.get("automountServiceAccountToken") is False
    assert pod["automountServiceAccountToken"] is False
    bound = {b["subjects"][0]["name"] for b in installed if b["kind"] == "RoleBinding"}
    assert account["metadata"]["name"] not in bound, "stage Jobs need no Kubernetes rights"
    # `--job-variable` drops the entry's other job variables (Prefect 3.9): the pool's default env is
    # the entry's, so the results settings hold whichever way the deployment was registered
    entry = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text())["deployments"][0]
    template_env = json.loads(JOB_TEMPLATE.read_text())["variables"]["properties"]["env"]["default"]
    assert template_env == entry["work_pool"]["job_variables"]["env"]
    # the Job runs the same image the install's Deployments run, unless the user names another
    default = json.loads(JOB_TEMPLATE.read_text())["variables"]["properties"]["image"]["default"]
    assert {default} == {c["image"] for d in installed if d["kind"] == "Deployment"
                         for c in d["spec"]["template"]["spec"]["containers"]}  # fmt: skip
