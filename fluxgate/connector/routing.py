"""Which app, environment and cluster a Flux event belongs to.

An Alert's `spec.eventMetadata` (copied into every event's metadata) is the most direct answer:
`env` and `cluster` (and `app` when one connector serves several apps). Without them the object is
looked up in the environments' cluster lists in `fluxgate.yaml`. Never guesses between
environments: an event that matches none, or several, is unroutable and ignored (with a note).
"""

from __future__ import annotations

from dataclasses import dataclass

from fluxgate.config import Environment, PipelineConfig
from fluxgate.connector.flux_events import FluxEvent

__all__ = ["Route", "Router"]

WORKLOAD_KINDS = {"Kustomization": "kustomizations", "HelmRelease": "helm_releases"}


@dataclass(frozen=True)
class Route:
    app: str
    env: str
    cluster: str
    repo: str  # the manifests repository the revision belongs to
    production: bool


def _names(listed: list[str], event: FluxEvent) -> bool:
    obj = event.object
    return obj.name in listed or f"{obj.namespace}/{obj.name}" in listed


class Router:
    def __init__(self, configs: list[PipelineConfig]) -> None:
        self.configs = configs

    def environment(self, app: str, env: str) -> Environment | None:
        for config in self.configs:
            if config.app == app:
                return next((e for e in config.environments if e.name == env), None)
        return None

    def env_route(self, app: str, env: str) -> Route | None:
        """The route of an environment as a whole (cluster left empty): what a waiting stage names."""
        for config in self.configs:
            environment = next((e for e in config.environments if e.name == env), None)
            if config.app == app and environment is not None:
                return self._route(config, environment, "")
        return None

    def _route(self, config: PipelineConfig, env: Environment, cluster: str) -> Route:
        last = config.environments[-1].name == env.name
        return Route(config.app, env.name, cluster, config.manifests.repo, production=last)

    def route(self, event: FluxEvent) -> Route | None:
        field = WORKLOAD_KINDS.get(event.object.kind)
        if field is None:
            return None
        app = event.metadata.get("app")
        candidates: list[Route] = []
        for config in self.configs:
            if app and config.app != app:
                continue
            for env in config.environments:
                if event.env and env.name != event.env:
                    continue
                for cluster in env.clusters:
                    if event.cluster and cluster.name != event.cluster:
                        continue
                    if _names(getattr(cluster, field), event):
                        candidates.append(self._route(config, env, cluster.name))
                if event.env and event.cluster and not candidates:
                    # labelled by the Alert: trust it even if fluxgate.yaml does not list the object
                    candidates.append(self._route(config, env, event.cluster))
        return candidates[0] if len(candidates) == 1 else None
