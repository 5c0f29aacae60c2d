"""How fast a waiting stage continues once its fact arrives, across the real processes.

The stack (Prefect server, emulated GitHub, connector, `fluxgate serve --poll 1`) runs the example
app's dev stage, whose PR waits for a review. Per release, two latencies:
- merge -> await-flux: from merging the PR in GitHub (the webhook goes to the connector) to the
  stage run being suspended again, waiting for Flux;
- Flux ready -> next task: from posting Flux's final `ReconciliationSucceeded` event to the connector
  to the `verify` task of the resumed run starting (from Prefect's own task run start time).
Prints median and p90 of each in seconds (target for Flux ready -> next task: median <= 1.5 s,
p90 <= 2 s); the figure is a latency of the whole chain (connector sweep interval + runner poll +
one process start), so its noise is the machine's.

Run: `.venv/bin/python bench/resume.py [--poll 1] [--releases 8]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from fluxgate.connector.signatures import flux_signature
from fluxgate.github import GitHubGateway, GitHubSettings
from fluxgate.sandbox.stack import FLUX_KEY, TOKEN, Stack

REPO = Path(__file__).resolve().parents[1]


def _project(root: Path) -> Path:
    shutil.copytree(REPO / "examples" / "shop", root)
    config = root / "fluxgate.yaml"
    text = config.read_text()
    text = re.sub(r"(  - name: dev\n(?:    .*\n)*?)    approval: auto\n", r"\1    approval: review\n", text)
    config.write_text(text + "\ncode_repo: acme/shop\n")
    return config


def _wait(read: Any, until: Any, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        run = read()
        if until(run):
            return run
        if run.state_type.value in ("FAILED", "CRASHED", "CANCELLED"):
            raise RuntimeError(f"{run.name}: {run.state.message}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{run.name}: still {run.state.name} after {timeout:.0f} s")
        time.sleep(0.05)


def _paused_at(key: str) -> Any:
    return lambda run: run.state and run.state.type.value == "PAUSED" and run.state.state_details.pause_key == key


def _flux(stack: Stack, sha: str, reason: str, message: str, second: int) -> None:
    event = {
        "involvedObject": {"kind": "Kustomization", "namespace": "flux-system", "name": "shop"},
        "severity": "info",
        "timestamp": f"2026-01-01T10:00:{second:02d}Z",
        "message": message,
        "reason": reason,
        "metadata": {"revision": f"main@sha1:{sha}", "env": "dev", "cluster": "dev-eu"},
        "reportingController": "kustomize-controller",
    }
    body = json.dumps(event).encode()
    answer = httpx.post(
        f"{stack.connector_url}/flux/events",
        content=body,
        headers={"Content-Type": "application/json", "X-Signature": flux_signature(body, FLUX_KEY)},
        timeout=10,
    )
    answer.raise_for_status()


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):5.2f} s   p90 {p90:5.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description="Resume latency across the real processes.")
    parser.add_argument("--poll", type=float, default=1.0, help="the runner's poll interval, s (1)")
    parser.add_argument("--releases", type=int, default=8, help="stage runs measured (8)")
    args = parser.parse_args()
    if not args.poll > 0 or args.releases < 1:
        parser.error("--poll must be more than 0 and --releases at least 1")
    releases = args.releases
    with tempfile.TemporaryDirectory(prefix="fluxgate-bench-resume-") as tmp:
        config = _project(Path(tmp) / "shop")
        with Stack(Path(tmp) / "stack", config, poll=args.poll, resume_interval=0.2) as stack:
            os.environ.update(stack.prefect_env())
            from prefect.client.orchestration import get_client
            from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

            from fluxgate.prefect_api import PrefectApi
            from fluxgate.runs import create_stage_run
            from fluxgate.stage import StageTags

            assert stack.github is not None
            gw = GitHubGateway(GitHubSettings(api_url=stack.github.url, token=TOKEN, min_write_interval=0))
            to_flux: list[float] = []
            to_task: list[float] = []
            with get_client(sync_client=True) as client:
                for i in range(releases):
                    version = f"2.0.{i}"
                    images = {"web": f"ghcr.io/acme/shop-web:{version}", "worker": f"ghcr.io/acme/shop-worker:{version}"}
                    request = stack.stage_request(version, images)
                    run = create_stage_run(PrefectApi(client), request)
                    read = lambda run_id=run.id: client.read_flow_run(run_id)  # noqa: E731
                    run = _wait(read, _paused_at("await-merge"))
                    pr = (StageTags.from_tags(run.tags) or StageTags(app="", version="", env="")).pr
                    assert pr is not None, run.tags
                    merged_at = time.time()
                    sha = gw.merge(pr.repo, pr.number, "merge")
                    _wait(read, _paused_at("await-flux"))
                    to_flux.append(time.time() - merged_at)
                    _flux(stack, sha, "Progressing", "Deployment/shop-dev/shop-web configured", 2 * i)
                    ready_at = time.time()
                    _flux(stack, sha, "ReconciliationSucceeded", f"Applied revision: main@sha1:{sha}", 2 * i + 1)

                    def verify_started(run_id: Any = run.id) -> Any:
                        tasks = client.read_task_runs(
                            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[run_id]))
                        )
                        return next((t for t in tasks if t.name.startswith("verify") and t.start_time), None)

                    deadline = time.monotonic() + 120
                    while (task := verify_started()) is None:
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"{version}: the resumed run never reached verify")
                        time.sleep(0.05)
                    to_task.append(task.start_time.timestamp() - ready_at)
                    states = {st.name: st.timestamp.timestamp() - ready_at for st in client.read_flow_run_states(run.id)
                              if st.timestamp.timestamp() > ready_at}
                    print(f"    after the Flux event: {', '.join(f'{k} +{v:.2f}s' for k, v in states.items())}")
                    _wait(read, lambda r: r.state_type.value == "COMPLETED")
                    print(f"  {version}: merge -> await-flux {to_flux[-1]:5.2f} s, Flux ready -> verify {to_task[-1]:5.2f} s")
    print(f"{releases} stage runs, runner polling every {args.poll:g} s, connector sweeping every 0.2 s")
    print(f"merge webhook -> suspended for Flux:  {_percentiles(to_flux)}")
    print(f"Flux ready -> next task started:      {_percentiles(to_task)}")
    ordered = sorted(to_task)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    met = statistics.median(ordered) <= 1.5 and p90 <= 2.0
    print(f"target Flux ready -> next task median <= 1.5 s, p90 <= 2 s: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
