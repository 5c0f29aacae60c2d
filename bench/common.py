"""What the connector benchmarks share: the emulated GitHub and a real `fluxgate connector`, each in its
own process, and signed Flux events like an Alert's.

Imported by the scripts next to it (`python bench/x.py` puts this folder on the import path).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fluxgate.connector.signatures import flux_signature
from fluxgate.sandbox.github import Emulator, free_port
from fluxgate.sandbox.serving import wait_until_up

ROOT = Path(__file__).resolve().parents[1]
FLUXGATE = Path(sys.executable).parent / "fluxgate"
KEY = "bench-flux-key"
TOKEN = "ghp_bench"
REPO = "acme/shop-manifests"
# The example app: environments dev (cluster dev-eu), staging (staging-eu) and prod (prod-eu, prod-us).
CONFIG = ROOT / "examples/shop/fluxgate.yaml"


def flux_event(
    name: str,
    sha: str,
    env: str = "dev",
    cluster: str = "dev-eu",
    reason: str = "Progressing",
    message: str | None = None,
) -> bytes:
    """A Kustomization's event as notification-controller posts it, labelled with env and cluster like an
    Alert's eventMetadata. The default message is a change set, so it also moves the env's Deployment."""
    return json.dumps(
        {
            "involvedObject": {
                "kind": "Kustomization",
                "namespace": "flux-system",
                "name": name,
                "uid": f"uid-{name}",
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            },
            "severity": "info",
            "timestamp": "2026-01-01T10:00:00Z",
            "reason": reason,
            "message": message if message is not None else f"Deployment/shop-{env}/{name} configured",
            "metadata": {"revision": f"main@sha1:{sha}", "env": env, "cluster": cluster},
            "reportingController": "kustomize-controller",
            "reportingInstance": "kustomize-controller-0",
        }
    ).encode()


def signed(body: bytes) -> dict[str, str]:
    """Headers of a Flux event posted with the generic-hmac provider."""
    return {"Content-Type": "application/json", "X-Signature": flux_signature(body, KEY)}


def start_github(data: Path, latency: float = 0.0, *options: str) -> tuple[subprocess.Popen[Any], str]:
    """`fluxgate sandbox github` with the bench's token and repository (and `options`), keeping answered
    JSON in its request log (`/_sandbox/requests`), at a lower CPU priority: it stands in for a remote
    GitHub, whose CPU is not the connector's. Returns the process and its URL, once it answers."""
    port = free_port()
    github = subprocess.Popen(
        [str(FLUXGATE), "sandbox", "github", "--data", str(data), "--port", str(port), "--token",
         f"bot={TOKEN}", "--repo", REPO, "--latency", str(latency), "--record-bodies", *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.nice(10),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _up(f"{url}/_sandbox/requests", github, "the GitHub emulator")
    return github, url


def connector_command(config: Path, data: Path, port: int) -> list[str]:
    return [str(FLUXGATE), "connector", "--config", str(config), "--data", str(data), "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip


# What the capacity and crash benchmarks give the connector: no write budget to speak of, and as many
# threads writing to GitHub as processing deliveries. They measure the connector, not GitHub's limits
# (bench/connector.py --github real keeps both as shipped).
UNLIMITED = {"FLUXGATE_GITHUB_WRITE_LIMITS": "1000000/60"}


def connector_env(
    github_url: str, workers: int, database_url: str | None = None, shipped: bool = False
) -> dict[str, str]:
    """The connector's settings; `database_url` sets its store (FLUXGATE_DATABASE_URL), else the
    environment's is kept (none: SQLite under the data dir). Unless `shipped`, the write budget is
    lifted and `workers` threads write to GitHub too."""
    store = {"FLUXGATE_DATABASE_URL": database_url} if database_url else {}
    capacity = {} if shipped else {**UNLIMITED, "FLUXGATE_WRITERS": str(min(workers, 32))}
    return {
        **os.environ,
        **store,
        **capacity,
        "FLUXGATE_GITHUB__API_URL": github_url,
        "FLUXGATE_GITHUB__TOKEN": TOKEN,
        "FLUXGATE_GITHUB__MIN_WRITE_INTERVAL": "0",
        "FLUXGATE_FLUX_HMAC_KEY": KEY,
        "FLUXGATE_WEBHOOK_SECRET": "bench-webhook-secret",  # none are sent; the connector wants one
        "FLUXGATE_WORKERS": str(workers),
    }


def start_connector(
    config: Path,
    data: Path,
    port: int,
    github_url: str,
    workers: int,
    database_url: str | None = None,
    shipped: bool = False,
    **popen: Any,
) -> subprocess.Popen[Any]:
    """A real `fluxgate connector` (HTTP process plus its processing child) on `data`, its store at
    `database_url` if given; returns once it is up. `popen` options go to subprocess.Popen (output is
    discarded unless they say otherwise)."""
    options: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **popen}
    connector = subprocess.Popen(
        connector_command(config, data, port),
        env=connector_env(github_url, workers, database_url, shipped),
        **options,
    )
    _up(f"http://127.0.0.1:{port}/healthz", connector, "the connector")
    return connector


def _up(url: str, process: subprocess.Popen[Any], what: str) -> None:
    try:
        wait_until_up(url, process, what, timeout=60)
    except BaseException:
        process.kill()
        process.wait()
        raise


def commits(data: Path, count: int) -> list[str]:
    """The manifests repository with `count` commits on main, written before the emulator serves it."""
    emulator = Emulator(data)
    try:
        emulator.create_repo(REPO)
        return [
            emulator.commit_files(REPO, "main", {"revision.txt": f"{n}\n"}, f"Release {n}", "fluxgate-bot")
            for n in range(count)
        ]
    finally:
        emulator.close()


def descendants(pid: int) -> list[int]:
    """Child processes of every thread of `pid` (the thread that starts a process is its parent)."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that just ended
            out += [int(child) for child in (task / "children").read_text().split()]
    return out


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (a fork server's children included)."""
    tree, i = [pid], 0
    while i < len(tree):
        with contextlib.suppress(OSError):
            tree += descendants(tree[i])
        i += 1
    return tree


def tree_memory_mib(pid: int) -> float:
    """The memory `pid` and its descendants hold together: the sum of their proportional set sizes
    (a page shared by two processes, as a fork server's with its children, counts half in each)."""
    total = 0
    for process in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{process}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total / 1024


class PeakMemory:
    """Samples `tree_memory_mib(pid)` every `every` seconds in a thread; `peak` is the largest seen."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        import threading

        self.pid, self.every, self.peak = pid, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, tree_memory_mib(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_memory_mib(self.pid))
        return self.peak
