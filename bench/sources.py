"""What a stage pays to fetch what it renders: git fetches and REST calls, counted at the emulated
GitHub, for the shop example with dev's values in a separate config repository.

Three machines' views of one release:
- the starter (`fluxgate deploy`): resolves the code ref and the config ref to commits;
- the stage's first execution on a worker with a cold cache: fetches both commits by sha;
- every later execution of the same stage (resumes, retries) on that worker: served from the cache.
Target: <= 2 git fetches per stage, 0 when the commits are in the cache; no REST call. Counts, not
times, so the figure is the same on any machine.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from fluxgate.config import load_config
from fluxgate.github import GitHubGateway, GitHubSettings
from fluxgate.release import build_release
from fluxgate.sandbox.github import files_in, start_in_thread
from fluxgate.stage import load_sources, pin_request, resolve_source

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "ghp_bench"
RESUMES = 5


def _fetches(requests: list, since: int) -> tuple[int, int]:
    """(git fetches, REST calls) answered since `since`: a fetch starts with GET info/refs."""
    new = requests[since:]
    git = sum(1 for r in new if r.path.endswith("/info/refs") and "git-upload-pack" in r.query)
    rest = sum(1 for r in new if ".git/" not in r.path)
    return git, rest


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="fluxgate-bench-sources-"))
    running = start_in_thread(root / "github")
    running.emulator.add_token(TOKEN, "fluxgate-bot")
    try:
        code = root / "shop"
        shutil.copytree(ROOT / "examples" / "shop", code)
        config_file = code / "fluxgate.yaml"
        text = config_file.read_text().replace(
            "      path: config/dev\n", "      repo: acme/shop-config\n      path: dev\n      ref: main\n", 1
        )
        config_file.write_text(text + "\ncode_repo: acme/shop\n")
        running.emulator.create_repo("acme/shop", files=files_in(code))
        values = (code / "config" / "dev" / "values.yaml").read_bytes()
        running.emulator.create_repo("acme/shop-config", files={"dev/values.yaml": values})

        def gateway(cache: str) -> GitHubGateway:
            settings = GitHubSettings.model_validate(
                {"api_url": running.url, "token": TOKEN, "min_write_interval": 0}
            )
            return GitHubGateway(settings, cache=root / cache)

        log = running.emulator.requests
        start = len(log)
        starter = gateway("starter-cache")
        source, config = resolve_source(starter, load_config(config_file), "main")
        images = {"web": "ghcr.io/acme/shop-web:1.0.0", "worker": "ghcr.io/acme/shop-worker:1.0.0"}
        release = build_release(config, images, "1.0.0").model_copy(update={"source": source})
        request = pin_request(starter, release, "dev")
        starting = _fetches(log, start)

        worker = gateway("worker-cache")
        start = len(log)
        load_sources(worker, request)
        first = _fetches(log, start)
        start = len(log)
        for _ in range(RESUMES):
            load_sources(worker, request)
        later = _fetches(log, start)
    finally:
        running.stop()
        shutil.rmtree(root, ignore_errors=True)

    print("git fetches / REST calls to read a stage's sources (code + one config repository)")
    print(f"  starting the stage (resolve 2 refs):        {starting[0]} fetches, {starting[1]} REST calls")
    print(f"  first execution, cold cache (2 commits):    {first[0]} fetches, {first[1]} REST calls")
    print(f"  {RESUMES} later executions, warm cache:          {later[0]} fetches, {later[1]} REST calls")
    ok = first[0] <= 2 and later[0] == 0 and first[1] == later[1] == 0
    print("target <= 2 fetches per stage, 0 from the cache, no REST call:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
