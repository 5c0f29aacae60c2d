"""`fluxgate sandbox github --secondary-limit COUNT/SECONDS [--secondary-limit-status 403|429]` turns on
GitHub's secondary rate limits (`github` names GitHub's documented pair); a malformed value is one line
naming the flag, exit 2, and nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run, user_error

EXPECTED = "expected COUNT/SECONDS with COUNT >= 1 and SECONDS > 0 (e.g. 80/60), or github"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `serve` was asked to run with, instead of serving until interrupted."""
    seen: dict[str, Any] = {}

    def serve(data: Path, host: str, port: int, **options: Any) -> None:
        seen.update(options)

    monkeypatch.setattr("fluxgate.sandbox.github.serve", serve)
    return seen


def test_github_and_repeated_windows_add_up_to_the_limits_served(
    fluxgate: Run, served: dict[str, Any], tmp_path: Path
) -> None:
    result = fluxgate(
        "sandbox", "github", "--data", str(tmp_path / "gh"), "--secondary-limit", "github",
        "--secondary-limit", "10/1.5", "--secondary-limit-status", "429",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert served["secondary_limits"] == [(80, 60.0), (500, 3600.0), (10, 1.5)]
    assert served["secondary_limit_status"] == 429


def test_without_the_flag_there_are_no_secondary_limits(
    fluxgate: Run, served: dict[str, Any], tmp_path: Path
) -> None:
    assert fluxgate("sandbox", "github", "--data", str(tmp_path / "gh")).returncode == 0
    assert (served["secondary_limits"], served["secondary_limit_status"]) == (None, 403)


@pytest.mark.parametrize(
    "value", ["80", "80/", "/60", "eighty/60", "0/60", "80/0", "80/-1", "80/inf", "1.5/60"]
)
def test_a_malformed_secondary_limit_is_a_one_line_error_naming_the_flag(
    fluxgate: Run, served: dict[str, Any], tmp_path: Path, value: str
) -> None:
    result = fluxgate("sandbox", "github", "--data", str(tmp_path / "gh"), "--secondary-limit", value)

    assert user_error(result) == [f"error: --secondary-limit {value}: {EXPECTED}"]
    assert not served and not (tmp_path / "gh").exists()


def test_a_status_github_does_not_use_is_a_one_line_error(
    fluxgate: Run, served: dict[str, Any], tmp_path: Path
) -> None:
    result = fluxgate(
        "sandbox", "github", "--data", str(tmp_path), "--secondary-limit", "github",
        "--secondary-limit-status", "500",
    )  # fmt: skip
    assert user_error(result) == ["error: --secondary-limit-status 500: must be 403 or 429"]


def test_a_status_without_a_limit_is_a_one_line_error(
    fluxgate: Run, served: dict[str, Any], tmp_path: Path
) -> None:
    result = fluxgate("sandbox", "github", "--data", str(tmp_path), "--secondary-limit-status", "429")
    assert user_error(result) == ["error: --secondary-limit-status 429: needs --secondary-limit"]
