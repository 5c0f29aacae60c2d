"""The simulated Flux exports exactly what the demo and tests are written against, and imports on its own."""

from __future__ import annotations

import subprocess
import sys

import fluxgate.sandbox.flux as flux


def test_the_package_exports_exactly_its_public_api() -> None:
    assert sorted(flux.__all__) == ["FluxCluster", "SentEvent", "SimulatedFlux", "clusters_of"]
    assert all(hasattr(flux, name) for name in flux.__all__)


def test_the_package_imports_on_its_own() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import fluxgate.sandbox.flux"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
