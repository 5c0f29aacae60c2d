"""A simulated Flux v2 (source-, kustomize- and notification-controller) for tests and the demo.

It reads the manifests repository from the emulated GitHub over git smart HTTP, as a cluster would,
and posts real-format, HMAC-signed notification events to the connector; the Kustomizations' status
can be kept in a `KubeApiEmulator` for the connector's watchdog. Production code never imports it.

    flux = SimulatedFlux(git_url=github.url, repo="acme/shop-manifests", branch="main", token=TOKEN,
                         clusters=clusters_of(config), receiver=f"{connector}/flux/events",
                         hmac_key=KEY, data=tmp / "flux").start()
    flux.fail_health("ghcr.io/acme/shop-web:1.1.0", env="staging")   # a bad release
"""

from fluxgate.sandbox.flux.controller import FluxCluster, SimulatedFlux, clusters_of
from fluxgate.sandbox.flux.notify import SentEvent

__all__ = ["FluxCluster", "SentEvent", "SimulatedFlux", "clusters_of"]
