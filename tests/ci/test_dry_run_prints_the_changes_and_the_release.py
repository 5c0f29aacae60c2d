"""`fluxgate ci --dry-run` says what a push would build and release, with no Prefect and no Docker."""

from __future__ import annotations

from typer.testing import CliRunner

from fluxgate.cli import app
from tests.ci.conftest import CodeRepo


def _dry_run(code_repo: CodeRepo, *args: str) -> list[str]:
    config = str(code_repo.root / "fluxgate.yaml")
    result = CliRunner().invoke(app, ["ci", "--config", config, "--dry-run", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_a_worker_change_is_the_only_change_and_gets_the_new_tag(code_repo: CodeRepo, first: str) -> None:
    head = code_repo.commit({"services/worker/job.py": "print('worker 2')\n"})
    tag = head[:7]

    lines = _dry_run(code_repo, "--base", first)

    assert lines[0] == f"changed (since {first[:12]}): worker"
    assert lines[1].startswith(f"release shop@{tag} (templates sha256:")
    assert f"ghcr.io/acme/worker:{tag}  (built: changed: services/worker/job.py)" in lines[4]
    assert lines[-1] == "templates render for dev; dry run: nothing built or recorded"


def test_nothing_changed_means_nothing_in_the_changes_line(code_repo: CodeRepo, first: str) -> None:
    code_repo.commit({"README.md": "# shop, v2\n"})

    assert _dry_run(code_repo, "--base", first)[0] == f"changed (since {first[:12]}): nothing"


def test_the_given_version_names_the_release(code_repo: CodeRepo, first: str) -> None:
    lines = _dry_run(code_repo, "--base", first, "--head", first, "--version", "1.0.0")

    assert lines[0] == f"changed (since {first[:12]}): nothing"
    assert lines[1].startswith("release shop@1.0.0 ")


def test_a_version_that_cannot_tag_an_image_is_one_error_line(code_repo: CodeRepo, first: str) -> None:
    config = str(code_repo.root / "fluxgate.yaml")
    result = CliRunner().invoke(app, ["ci", "-c", config, "--dry-run", "--base", first, "--version", "1+x"])

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: version '1+x' cannot tag images: use up to 100 letters, digits, '_', '.' or '-', "
        "starting with a letter or digit"
    ]
