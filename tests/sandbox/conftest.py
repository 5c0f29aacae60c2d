"""A simulated Flux reading a fresh manifests repo from the session's emulated GitHub, posting to a real
HTTP receiver that records every request (headers and raw body), as the connector would receive them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import pytest

from fluxgate.connector.flux_events import FluxEvent, parse_flux_event
from fluxgate.sandbox.flux import FluxCluster, SentEvent, SimulatedFlux
from fluxgate.sandbox.github import RunningEmulator
from tests.conftest import TOKEN
from tests.http_service import Seen, Service, recording_service

KEY = "flux-hmac-key-for-the-sandbox-tests"
DEV = FluxCluster(app="shop", env="dev", cluster="dev-eu", folder="dev", kustomizations=("shop",))
STAGING = FluxCluster(
    app="shop", env="staging", cluster="staging-eu", folder="staging", kustomizations=("shop",)
)
WEB_1 = "ghcr.io/acme/shop-web:1.0.0"
WEB_2 = "ghcr.io/acme/shop-web:1.1.0"
HAPPY = ["NewArtifact", "Progressing", "Progressing", "ReconciliationSucceeded"]

RunFlux = Callable[..., SimulatedFlux]


def deployment(namespace: str, image: str, name: str = "web", replicas: int | str = 2) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: {name}
          image: {image}
"""


def service(namespace: str, name: str = "web") -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {namespace}
spec:
  selector: {{app: {name}}}
  ports:
    - port: 80
"""


def config_map(namespace: str, name: str = "web", level: str = "info") -> str:
    return f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: {namespace}
data:
  LOG_LEVEL: {level}
"""


def commit(github: RunningEmulator, repo: str, files: Mapping[str, str | bytes], message: str,
           deletes: tuple[str, ...] = ()) -> str:  # fmt: skip
    """A push to main, as a merged promotion PR leaves it; the new head."""
    return github.emulator.commit_files(repo, "main", dict(files), message, "fluxgate-bot", deletes)


def release(env: str, image: str) -> dict[str, str | bytes]:
    """The files fluxgate renders for one environment: `<env>/<namespace>/<kind>-<name>.yaml`."""
    ns = f"shop-{env}"
    return {
        f"{env}/{ns}/deployment-web.yaml": deployment(ns, image),
        f"{env}/{ns}/service-web.yaml": service(ns),
        f"{env}/{ns}/configmap-web.yaml": config_map(ns),
    }


Done = Callable[[list[SentEvent]], bool]


def wait_for(flux: SimulatedFlux, done: Done, timeout: float = 10) -> list[SentEvent]:
    """The events sent so far, once `done` says they are enough; fails with what was sent otherwise."""
    deadline = time.monotonic() + timeout
    while not done(sent := flux.sent):
        if time.monotonic() > deadline:
            shown = "\n".join(f"  {e.cluster} {e.kind}/{e.name} {e.reason}: {e.message!r}" for e in sent)
            pytest.fail(f"the simulated Flux did not get there in {timeout} s; it sent:\n{shown}")
        time.sleep(0.02)
    return sent


def ready_at(sha: str, cluster: str = "dev-eu") -> Done:
    """`wait_for` condition: the cluster reported ready at `sha`."""
    return lambda sent: any(
        e.cluster == cluster and e.reason == "ReconciliationSucceeded" and e.revision == sha for e in sent
    )


def reasons(events: list[SentEvent], cluster: str) -> list[str]:
    return [e.reason for e in events if e.cluster == cluster]


def received(service: Service) -> list[tuple[Seen, bytes, FluxEvent]]:
    """Every request the receiver got: as seen, its raw body, and the connector's parse of it."""
    return [(seen, seen.body.encode(), parse_flux_event(seen.body.encode())) for seen in list(service.seen)]


def header(seen: Seen, name: str) -> str | None:
    return next((v for k, v in seen.headers.items() if k.lower() == name.lower()), None)


@pytest.fixture
def receiver() -> Iterator[Service]:
    """The connector's `/flux/events` stand-in: answers 200 (edit `.script` to change that)."""
    with recording_service((200, "")) as found:
        found.url = found.url.replace("/healthz", "/flux/events")
        yield found


@pytest.fixture
def run_flux(
    github: RunningEmulator, manifests_repo: str, receiver: Service, tmp_path: Path
) -> Iterator[RunFlux]:
    """Starts a SimulatedFlux on `manifests_repo` (fast intervals; any option can be overridden)."""
    started: list[SimulatedFlux] = []

    def run(*clusters: FluxCluster, failing: Iterable[tuple[str, str | None]] = (), **options: object
            ) -> SimulatedFlux:  # fmt: skip
        settings: dict[str, object] = {
            "git_url": github.url, "repo": manifests_repo, "branch": "main", "token": TOKEN,
            "receiver": receiver.url, "hmac_key": KEY, "data": tmp_path / f"flux-{len(started)}",
            "interval": 0.1, "repeat_every": 60.0, "health_timeout": 0.3, **options,
        }  # fmt: skip
        flux = SimulatedFlux(clusters=list(clusters or (DEV,)), **settings)  # type: ignore[arg-type]
        for image, env in failing:  # before it starts: no race with the first reconciliation
            flux.fail_health(image, env)
        started.append(flux.start())
        return flux

    yield run
    for flux in started:
        flux.stop()
