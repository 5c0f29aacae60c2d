"""`fluxgate diff` against a checkout or a git ref: the summary a reviewer reads in the PR."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import EXAMPLES, Run, user_error

SHOP = EXAMPLES / "shop" / "fluxgate.yaml"


def diff(fluxgate: Run, *args: str) -> subprocess.CompletedProcess[str]:
    return fluxgate("diff", "-c", str(SHOP), *args)


@pytest.fixture
def manifests(fluxgate: Run, tmp_path: Path) -> Path:
    """A real git manifests repo holding release 1.0.0 of every environment, committed on main."""
    repo = tmp_path / "manifests"
    for env in ("dev", "staging"):
        result = fluxgate(
            "render", "-c", str(SHOP), "-e", env, "-i", "web=1.0.0", "-i", "worker=1.0.0", "-o", str(repo)
        )
        assert result.returncode == 0, result.stderr
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "1.0.0"], check=True)
    return repo


@pytest.mark.console_script  # the README promises the console script
def test_diff_against_a_checkout_lists_the_image_change(fluxgate: Run, manifests: Path) -> None:
    result = diff(
        fluxgate, "-e", "staging", "--against", str(manifests), "-i", "web=1.1.0", "--version", "1.1.0"
    )
    assert result.returncode == 0, result.stderr
    assert "### shop@1.1.0 → staging" in result.stdout
    images = "`ghcr.io/acme/shop-web:1.0.0` | `ghcr.io/acme/shop-web:1.1.0`"
    assert f"| Deployment shop-staging/shop-web | web | {images} |" in result.stdout
    assert "shop-worker | worker" not in result.stdout  # kept the image it runs now


def test_diff_against_a_git_ref_reads_the_commit_not_the_worktree(fluxgate: Run, manifests: Path) -> None:
    (manifests / "staging" / "shop-staging" / "configmap-shop-web.yaml").unlink()  # uncommitted
    images = ["-i", "web=1.0.0", "-i", "worker=1.0.0"]
    result = diff(
        fluxgate, "-e", "staging", "--against", "main", "--repo", str(manifests), *images, "-f", "json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["changes"] == [] and summary["images"] == []
    assert summary["unchanged"] == 10


def test_exit_code_flag_reports_pending_changes(fluxgate: Run, manifests: Path) -> None:
    same = diff(
        fluxgate, "-e", "dev", "-a", str(manifests), "-i", "web=1.0.0", "-i", "worker=1.0.0", "--exit-code"
    )
    assert same.returncode == 0, same.stderr
    assert "No resource changes" in same.stdout
    changed = diff(
        fluxgate, "-e", "dev", "-a", str(manifests), "-i", "web=1.2.0", "--version", "1.2.0", "--exit-code"
    )
    assert changed.returncode == 1, changed.stderr
    assert "changed" in changed.stdout


def test_an_environment_never_deployed_shows_everything_added(fluxgate: Run, manifests: Path) -> None:
    result = diff(
        fluxgate, "-e", "prod", "-a", str(manifests), "-i", "web=1.0.0", "-i", "worker=1.0.0", "-f", "json"
    )
    summary = json.loads(result.stdout)
    assert [c["action"] for c in summary["changes"]] == ["added"] * 10


def test_unknown_git_ref_is_a_one_line_error(fluxgate: Run, manifests: Path) -> None:
    lines = user_error(diff(fluxgate, "-e", "dev", "-a", "v9.9.9", "--repo", str(manifests)))
    assert lines == [f"error: --against v9.9.9: no such commit, branch or tag in {manifests}"]
