"""Every core package says what it exports, and exports exactly that (httpx-style)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = [
    "fluxgate.config",
    "fluxgate.render",
    "fluxgate.validate",
    "fluxgate.summary",
    "fluxgate.stage",
    "fluxgate.errors",
    "fluxgate.github",
    "fluxgate.sandbox.github",
    "fluxgate.sandbox.flux",
    "fluxgate.sandbox.demo",
    "fluxgate.ci",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist_and_nothing_public_is_unlisted(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert all(hasattr(module, n) for n in exported)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("fluxgate")
    }
    assert public <= exported, sorted(public - exported)


@pytest.mark.parametrize("name", [*PACKAGES, "fluxgate.objects", "fluxgate.release", "fluxgate.cli"])
def test_each_package_imports_on_its_own(name: str) -> None:
    """No import cycle hides behind the order the test suite happens to import modules in."""
    done = subprocess.run(
        [sys.executable, "-c", f"import {name}"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
