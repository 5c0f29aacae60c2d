"""An emulated Kubernetes API server holding Flux objects, one per emulated cluster.

It answers what the connector's watchdog asks a real API server: `GET` of one namespaced custom
object, with Kubernetes' own `Status` body for 401 and 404, and a bearer token checked like a
service-account token. The simulated Flux (and tests) put Kustomizations and HelmReleases in it with
the status a real controller would write. `kubeconfig()` writes the file a user would point
`FLUXGATE_KUBECONFIG` at: one context per cluster, named like the cluster.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fluxgate.sandbox.serving import ThreadedServer

__all__ = ["KubeApiEmulator", "flux_object"]

_PLURALS = {"kustomizations": "Kustomization", "helmreleases": "HelmRelease"}
_API_VERSIONS = {
    "Kustomization": "kustomize.toolkit.fluxcd.io/v1",
    "HelmRelease": "helm.toolkit.fluxcd.io/v2",
}


def flux_object(
    kind: str,
    namespace: str,
    name: str,
    ready: str,
    reason: str,
    message: str,
    revision: str,
    applied: str | None = None,
    at: str = "2026-01-01T00:00:00Z",
) -> dict[str, Any]:
    """A Flux object as its controller leaves it: a `Ready` condition and the revisions it concerns."""
    return {
        "apiVersion": _API_VERSIONS[kind],
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": at,
                }
            ],
            "lastAttemptedRevision": revision,
            **({"lastAppliedRevision": applied} if applied else {}),
        },
    }


def _status(code: int, reason: str, message: str) -> JSONResponse:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason,
            "code": code}
    return JSONResponse(body, status_code=code)


class KubeApiEmulator:
    """Clusters by name, each a dict of Flux objects; served on one port, a path prefix per cluster."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.reads = 0
        self._server: ThreadedServer | None = None

    def put(self, cluster: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        with self._lock:
            self._objects[(cluster, obj["kind"], meta["namespace"], meta["name"])] = obj

    async def _get(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _status(401, "Unauthorized", "Unauthorized")
        p = request.path_params
        kind = _PLURALS.get(p["plural"])
        if kind is None or f"{p['group']}/{p['version']}" != _API_VERSIONS[kind]:
            return _status(404, "NotFound", "the server could not find the requested resource")
        with self._lock:
            self.reads += 1
            found = self._objects.get((p["cluster"], kind, p["namespace"], p["name"]))
        if found is None:
            return _status(404, "NotFound", f'{p["plural"]}.{p["group"]} "{p["name"]}" not found')
        return JSONResponse(found)

    def app(self) -> Starlette:
        path = "/{cluster}/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}"
        return Starlette(routes=[Route(path, self._get, methods=["GET"])])

    def start(self) -> str:
        self._server = ThreadedServer(self.app(), "Kubernetes API emulator").start()
        return self._server.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def kubeconfig(self, path: Path, clusters: list[str]) -> Path:
        """A kubeconfig with a context per cluster (same name), all pointing at this server."""
        assert self._server is not None, "start() first"
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": c, "cluster": {"server": f"{self._server.url}/{c}"}} for c in clusters],
            "users": [{"name": "fluxgate", "user": {"token": self.token}}],
            "contexts": [{"name": c, "context": {"cluster": c, "user": "fluxgate"}} for c in clusters],
            "current-context": clusters[0],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as out:
            YAML().dump(doc, out)
        return path
