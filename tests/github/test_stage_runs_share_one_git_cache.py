"""Stage runs on one machine share the gateway's git cache: fetching the same manifests branch at
the same moment, from several processes, must give each the branch head and never a git error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fluxgate.sandbox.github import RunningEmulator
from tests.conftest import TOKEN

FETCH = """
import sys
from pathlib import Path
from fluxgate.github import GitHubGateway, GitHubSettings
settings = GitHubSettings(api_url=sys.argv[1], token=sys.argv[2], min_write_interval=0)
gw = GitHubGateway(settings, cache=Path(sys.argv[3]))
for _ in range(5):
    print(gw.snapshot(sys.argv[4], "main").commit)
"""


def test_concurrent_fetches_into_one_cache_all_succeed(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    head = github.emulator.git(github.emulator.state.repos[manifests_repo]).ref("refs/heads/main")
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FETCH, github.url, TOKEN, str(cache), manifests_repo],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(4)
    ]  # fmt: skip
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.split() == [head] * 5
