"""API calls and wall time to commit and open a promotion PR for 1 / 10 / 100 / 1,000 changed files.

Runs the real gateway (PyGithub) against the emulated GitHub over localhost HTTP. Figures:
- REST calls per promotion (target: constant, <= 5 with labels); git's fetch of the base branch is
  counted apart, as HTTP round trips of the git protocol, not API calls;
- time for 1,000 files / time for 1 file (target: < 20x), best of several rounds each.
GitHub's 1 s pacing between writes is switched off here: it would hide the work being measured.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from fluxgate.github import GitHubGateway, GitHubSettings, Promotion, promote
from fluxgate.sandbox.github import start_in_thread

SIZES = [1, 10, 100, 1000]
ROUNDS = 5
TOKEN = "ghp_bench"


def files(count: int, version: int) -> dict[str, bytes]:
    return {
        f"dev/shop/configmap-item-{i:04d}.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: item-{i:04d}\n  namespace: shop\n"
        f"data:\n  version: '{version}'\n  payload: '{'x' * 200}'\n".encode()
        for i in range(count)
    }


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="fluxgate-bench-gh-"))
    running = start_in_thread(root / "github")
    running.emulator.add_token(TOKEN, "fluxgate-bot")
    gw = GitHubGateway(
        GitHubSettings(api_url=running.url, token=TOKEN, min_write_interval=0), cache=root / "cache"
    )
    rows = []
    try:
        for size in SIZES:
            times, rest, git = [], set(), set()
            for round_ in range(ROUNDS):
                repo = f"bench/m-{size}-{round_}"
                running.emulator.create_repo(repo)
                start = len(running.emulator.requests)
                began = time.perf_counter()
                outcome = promote(
                    gw,
                    repo,
                    "main",
                    Promotion(app="shop", env="dev", version=f"1.0.{round_}"),
                    files(size, round_),
                    ["dev"],
                    "summary",
                    labels=["fluxgate"],
                )
                times.append(time.perf_counter() - began)
                made = running.emulator.requests[start:]
                rest.add(sum(1 for r in made if not r.route.endswith(".git/{rest}")))
                git.add(sum(1 for r in made if r.route.endswith(".git/{rest}")))
                assert outcome.status == "opened" and outcome.added == size, outcome
            rows.append((size, sorted(rest), sorted(git), min(times), statistics.median(times)))
    finally:
        gw.close()
        running.stop()
    print(f"{'files':>6} {'REST calls':>10} {'git round trips':>15} {'best s':>8} {'median s':>9}")
    for size, rest_calls, git_calls, best, median in rows:
        print(
            f"{size:>6} {'/'.join(map(str, rest_calls)):>10} {'/'.join(map(str, git_calls)):>15} "
            f"{best:>8.3f} {median:>9.3f}"
        )
    counts = {c for row in rows for c in row[1]}
    ratio = rows[-1][3] / rows[0][3]
    print(f"REST calls per promotion: {sorted(counts)} (target: one constant count <= 5)")
    print(f"time ratio 1000 files / 1 file (best of {ROUNDS}): {ratio:.1f}x (target < 20x)")
    ok = len(counts) == 1 and max(counts) <= 5 and ratio < 20
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
