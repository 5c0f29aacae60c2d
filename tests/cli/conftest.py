"""CLI tests run the real `fluxgate` console script in a subprocess, as a user would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
FLUXGATE = Path(sys.executable).parent / "fluxgate"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def fluxgate() -> Run:
    if not FLUXGATE.exists():
        pytest.fail(f"console script not installed at {FLUXGATE}; run `make test`")

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(FLUXGATE), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )

    return run


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A private copy of examples/shop that a test may break."""
    target = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", target)
    return target


def user_error(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The error lines of a failed run; asserts the contract: exit 2, no traceback."""
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), result.stderr
    return lines
