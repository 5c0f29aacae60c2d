"""`fluxgate demo` (what `make demo` runs) renders, commits and diffs the example app."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli.conftest import Run


def test_demo_renders_every_environment_and_diffs_the_next_release(fluxgate: Run, tmp_path: Path) -> None:
    keep = tmp_path / "demo-manifests"
    result = fluxgate("demo", "--keep", str(keep))
    assert result.returncode == 0, result.stderr
    for env in ("dev", "staging", "prod"):
        assert f"shop@1.0.0 -> {env}: 10 objects" in result.stdout
        assert f"### shop@1.1.0 → {env}" in result.stdout
    assert "`ghcr.io/acme/shop-web:1.0.0` | `ghcr.io/acme/shop-web:1.1.0`" in result.stdout
    log = subprocess.run(
        ["git", "-C", str(keep), "log", "--oneline"], capture_output=True, text=True, check=True
    )
    assert "shop@1.0.0: all environments" in log.stdout
