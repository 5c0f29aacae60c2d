"""Many stages waiting at once cost no processes: 200 stage runs of the example app suspended at
once (each rendered, its PR opened, waiting for a review), then count what is alive.

Prints, once every run waits: flow processes alive under the runner (target 0: only the idle runner),
the runner's and the Prefect server's resident memory, and how many runs were waiting. The stack is
the real one (Prefect server on SQLite, emulated GitHub, connector, `fluxgate serve`).

Run: `make bench` or `.venv/bin/python bench/idle.py [--runs 200]`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from fluxgate.sandbox.stack import Stack, flow_processes, rss_mib

REPO = Path(__file__).resolve().parents[1]


def _runs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of runs, 1 or more")
    return int(text)


def _project(root: Path) -> Path:
    shutil.copytree(REPO / "examples" / "shop", root)
    config = root / "fluxgate.yaml"
    text = re.sub(r"(  - name: dev\n(?:    .*\n)*?)    approval: auto\n", r"\1    approval: review\n", config.read_text())
    config.write_text(text + "\ncode_repo: acme/shop\n")
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description="Suspend many stage runs at once; count the processes alive.")
    parser.add_argument("--runs", type=_runs, default=200, help="stage runs to suspend at once (200)")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="fluxgate-bench-idle-") as tmp:
        config = _project(Path(tmp) / "shop")
        with Stack(Path(tmp) / "stack", config, poll=1) as stack:
            os.environ.update(stack.prefect_env())
            from prefect.client.orchestration import get_client
            from prefect.client.schemas.filters import (
                FlowRunFilter,
                FlowRunFilterState,
                FlowRunFilterStateType,
            )
            from prefect.client.schemas.objects import StateType

            from fluxgate.prefect_api import PrefectApi
            from fluxgate.runs import create_stage_run

            started = time.monotonic()
            with get_client(sync_client=True) as client:
                for i in range(runs):
                    version = f"3.0.{i}"
                    images = {"web": f"ghcr.io/acme/shop-web:{version}", "worker": f"ghcr.io/acme/shop-worker:{version}"}
                    create_stage_run(PrefectApi(client), stack.stage_request(version, images))
                paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
                failed = FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED]))
                )
                waiting = 0
                while waiting < runs:
                    if client.count_flow_runs(flow_run_filter=failed):
                        raise RuntimeError("a stage run failed; see the runner's log")
                    if time.monotonic() - started > 1800:
                        raise RuntimeError(f"only {waiting} of {runs} runs waiting after 30 min")
                    time.sleep(2)
                    waiting = client.count_flow_runs(flow_run_filter=paused)
                    print(f"  {time.monotonic() - started:6.0f} s: {waiting} of {runs} waiting", flush=True)
            time.sleep(3)  # let the last flow processes exit
            runner = stack.processes["runner"].pid
            server = stack.processes["prefect-server"].pid
            alive = flow_processes(runner)
            print(f"{waiting} stage runs waiting (for a review), set up in {time.monotonic() - started:.0f} s")
            print(f"flow processes alive: {len(alive)} (target 0; only the idle runner)")
            print(f"memory: runner {rss_mib(runner):.0f} MiB, Prefect server {rss_mib(server):.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
