"""CLI tests run `fluxgate` as a user would: exit code, stdout and stderr are what they assert.

Most run the command in this process through typer's `CliRunner` (starting the console script costs
~3 s of imports per call, and would be most of the suite's CLI time); tests marked `console_script`
run the real installed script in a subprocess, so every command family keeps at least one test of
what the README promises: the script exists, and a user error is one line, exit 2, no traceback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
FLUXGATE = Path(sys.executable).parent / "fluxgate"

Run = Callable[..., subprocess.CompletedProcess[str]]


def run_console_script(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `fluxgate` script in its own process."""
    if not FLUXGATE.exists():
        pytest.fail(f"console script not installed at {FLUXGATE}; run `make test`")
    return subprocess.run(
        [str(FLUXGATE), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@contextlib.contextmanager
def _prefect_settings_from_environment() -> Iterator[None]:
    """A new process reads PREFECT_API_URL from the environment; this one fixed its Prefect settings
    when Prefect was first imported, so what a test set with `monkeypatch.setenv` is applied here."""
    url = os.environ.get("PREFECT_API_URL")
    if url is None or "prefect" not in sys.modules:
        yield
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: url}):
        yield


def run_in_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`fluxgate ARGS` through the same typer app the script calls, answered like a process: an
    exception that escapes the app is printed as Python would print it (a traceback) with exit 1."""
    from typer.testing import CliRunner

    from fluxgate.cli import app

    with contextlib.chdir(cwd or Path.cwd()), _prefect_settings_from_environment():
        result = CliRunner().invoke(app, list(args))
    stderr = result.stderr
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(["fluxgate", *args], result.exit_code, result.stdout, stderr)


@pytest.fixture
def fluxgate(request: pytest.FixtureRequest) -> Run:
    """Runs `fluxgate ARGS` (cwd optional) and returns the finished process."""
    if request.node.get_closest_marker("console_script"):
        return run_console_script
    return run_in_process


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
