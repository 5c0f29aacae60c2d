"""`fluxgate sandbox github --data DIR --port N` serves the emulated GitHub in its own process."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from fluxgate.sandbox.github import free_port
from tests.cli.conftest import FLUXGATE, Run, user_error


def test_the_emulator_runs_as_a_process_and_serves_api_and_git(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            str(FLUXGATE),
            "sandbox",
            "github",
            "--data",
            str(tmp_path / "gh"),
            "--port",
            str(port),
            "--token",
            "dev=ghp_demo",
            "--repo",
            "acme/manifests",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(
                    f"{url}/repos/acme/manifests", headers={"Authorization": "token ghp_demo"}, timeout=2
                )
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.2)
        assert answer.status_code == 200 and answer.json()["default_branch"] == "main"
        assert (
            httpx.get(
                f"{url}/repos/acme/manifests", headers={"Authorization": "token nope"}, timeout=5
            ).status_code
            == 401
        )
        clone = tmp_path / "clone"
        subprocess.run(
            [
                "git",
                "-c",
                "http.extraHeader=Authorization: token ghp_demo",
                "clone",
                "--quiet",
                f"{url}/acme/manifests.git",
                str(clone),
            ],
            check=True,
            capture_output=True,
        )
        assert (clone / "README.md").read_text() == "# manifests\n"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_a_malformed_token_option_is_a_one_line_error(fluxgate: Run, tmp_path: Path) -> None:
    result = fluxgate("sandbox", "github", "--data", str(tmp_path), "--token", "justatoken")
    assert user_error(result) == ["error: --token justatoken=…: expected LOGIN=TOKEN"]
