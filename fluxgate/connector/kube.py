"""Reading Flux objects straight from a cluster's API server, for the watchdog.

One kubeconfig (`FLUXGATE_KUBECONFIG`) holds a context per cluster, named like the cluster in
`fluxgate.yaml`; a cluster without such a context is checked through GitHub instead. Only GETs of
single custom objects are made (no discovery, no watches): the connector needs read access to
Kustomizations and HelmReleases and nothing else. Uses the official `kubernetes` client, imported
lazily so a connector without a kubeconfig never loads it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fluxgate.errors import RetryableError, SettingsError, one_line

__all__ = ["FLUX_APIS", "KubeReadError", "KubeReader"]

# kind -> (group, version, plural): the Flux v2 GA APIs.
FLUX_APIS: dict[str, tuple[str, str, str]] = {
    "Kustomization": ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
    "HelmRelease": ("helm.toolkit.fluxcd.io", "v2", "helmreleases"),
}


class KubeReadError(RetryableError):
    """The API server could not be asked (unreachable, refused, forbidden): one line saying which.
    The watchdog asks GitHub instead, and asks the cluster again at its next look."""


class KubeReader:
    def __init__(self, kubeconfig: Path, timeout: float = 10.0) -> None:
        from kubernetes import config

        self.kubeconfig, self.timeout = kubeconfig, timeout
        try:
            contexts, _current = config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
                config_file=str(kubeconfig)
            )
        except Exception as error:  # the loader lets YAML, type and key errors of odd files through
            raise SettingsError(f"{kubeconfig}: not a usable kubeconfig: {one_line(error)}") from None
        self.contexts = {str(c["name"]) for c in contexts or []}
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def has(self, cluster: str) -> bool:
        return cluster in self.contexts

    def _api(self, context: str) -> Any:
        from kubernetes import client, config

        with self._lock:
            if context not in self._clients:
                api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                    config_file=str(self.kubeconfig), context=context
                )
                self._clients[context] = client.CustomObjectsApi(api)
            return self._clients[context]

    def read(self, context: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object as the API server has it, or None when it does not exist."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        group, version, plural = FLUX_APIS[kind]
        where = f"{context}: {kind} {namespace}/{name}"
        try:
            found = self._api(context).get_namespaced_custom_object(
                group, version, namespace, plural, name, _request_timeout=self.timeout
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise KubeReadError(f"{where}: the API server answered {error.status} {error.reason}") from None
        except HTTPError as error:
            raise KubeReadError(f"{where}: API server unreachable ({type(error).__name__})") from None
        return dict(found)

    def close(self) -> None:
        with self._lock:
            for api in self._clients.values():
                api.api_client.close()
            self._clients.clear()
