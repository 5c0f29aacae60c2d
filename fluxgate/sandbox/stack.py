"""The whole product on one machine, for benchmarks and the demo: a Prefect server (SQLite), the
emulated GitHub, the connector and a `fluxgate serve` runner, each a real process talking real HTTP.

`Stack(data, config).start()` brings them up in that order (the connector and the runner together)
and waits for each to answer; `stop()` ends them (also on errors half-way). Everything lives under
`data`. A SQLite Prefect server starts on a database migrated once per Prefect version (`seed_database`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx

from fluxgate.config import load_config
from fluxgate.connector.store import create_database, drop_database
from fluxgate.errors import SettingsError
from fluxgate.github import GitHubGateway, GitHubSettings
from fluxgate.release import build_release
from fluxgate.sandbox.github import Emulator, RunningEmulator, files_in, start_in_thread
from fluxgate.sandbox.prefect_ha import (
    API_SERVERS,
    api_command,
    ha_env,
    haproxy_command,
    haproxy_config,
    migrate_command,
    services_command,
)
from fluxgate.sandbox.prefect_server import seed_database, server_command, server_env
from fluxgate.sandbox.serving import free_port, wait_until_up
from fluxgate.stage import StageRequest, pin_request, resolve_source
from fluxgate.warm_start import FORKSERVER_MARK

__all__ = ["FLUX_KEY", "TOKEN", "WEBHOOK_SECRET", "Stack", "flow_processes", "rss_mib"]

TOKEN = "ghp_fluxgatesandbox000000000000000000000"
FLUX_KEY = "flux-generic-hmac-key-of-the-sandbox"
WEBHOOK_SECRET = "github-webhook-secret-of-the-sandbox"
_BIN = Path(sys.executable).parent


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def flow_processes(runner: int) -> list[int]:
    """Live processes below a runner that run flows, from /proc (Linux): an exited child not yet
    reaped holds nothing, and multiprocessing's resource tracker and forkserver are the idle
    runner's own helpers."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, parent = (entry / "stat").read_text().rpartition(")")[2].split()[:2]
        except (OSError, ValueError):
            continue
        if state != "Z":
            parents[int(entry.name)] = int(parent)
    found, frontier = [], [runner]
    while frontier:
        current = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == current]
        found += kids
        frontier += kids
    # the idle runner's own helpers are its direct children; the forkserver's forks (same command
    # line as their parent) are the flow runs
    marks = (b"resource_tracker", FORKSERVER_MARK)
    helpers = {p for p in found if parents[p] == runner and any(m in _cmdline(p) for m in marks)}
    return [p for p in found if p not in helpers]


def rss_mib(pid: int) -> float:
    """Resident memory of a process and everything below it, MiB."""
    total = 0
    for each in [pid, *flow_processes(pid)]:
        try:
            status = (Path("/proc") / str(each) / "status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total / 1024


class Stack:
    """`seed` fills the emulated GitHub before anything reads it: the demo pushes the code repository
    there and checks it out at `config`, as a worker's pull step would."""

    def __init__(
        self,
        data: Path,
        config: Path,
        poll: float = 1,
        resume_interval: float = 0.2,
        seed: Callable[[Emulator, str], object] | None = None,
        postgres: str | None = None,
        keep_databases: bool = False,
        redis: str | None = None,
    ) -> None:
        """`postgres`: a PostgreSQL server URL (`postgresql://postgres@127.0.0.1:5432/postgres`) on
        which the stack creates a database for the Prefect server and one for the connector's store,
        dropped at `stop` unless `keep_databases`; default: both on SQLite under `data`.
        `redis` (with `postgres`): Prefect in its HA shape instead of one server, see `prefect_ha`."""
        if redis is not None and postgres is None:
            raise SettingsError("--redis needs --postgres: Prefect's HA shape keeps its state in PostgreSQL")
        self.data, self.config, self.seed = data, config, seed
        self.postgres, self.keep_databases, self.redis = postgres, keep_databases, redis
        self.databases: dict[str, str] = {}  # "prefect" / "connector" -> URL, when on PostgreSQL
        self.poll, self.resume_interval = poll, resume_interval
        self.prefect_url = f"http://127.0.0.1:{free_port()}/api"
        self.connector_url = f"http://127.0.0.1:{free_port()}"
        self.github: RunningEmulator | None = None
        self.processes: dict[str, subprocess.Popen[Any]] = {}
        self._logs: list[IO[str]] = []

    # -- environment ------------------------------------------------------------------------------
    def prefect_env(self) -> dict[str, str]:
        return {
            **server_env(self.data / "prefect", self.databases.get("prefect")),
            "PREFECT_API_URL": self.prefect_url,
            "PREFECT_LOGGING_TO_API_ENABLED": "false",
            "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
            "PREFECT_LOCAL_STORAGE_PATH": str(self.data / "results"),
        }

    def gateway(self) -> GitHubGateway:
        """The stack's GitHub as fluxgate's own processes reach it (the bot's token)."""
        assert self.github is not None
        settings = GitHubSettings.model_validate(
            {"api_url": self.github.url, "token": TOKEN, "min_write_interval": 0}
        )
        return GitHubGateway(settings, cache=self.data / "git-cache")

    def stage_request(self, version: str, images: dict[str, str], ref: str = "main") -> StageRequest:
        """The first stage of a release built at `ref` of the code repository, pinned as
        `fluxgate deploy --ref` pins it."""
        gw = self.gateway()
        source, config = resolve_source(gw, load_config(self.config), ref)
        release = build_release(config, images, version).model_copy(update={"source": source})
        return pin_request(gw, release, config.environments[0].name)

    def env(self) -> dict[str, str]:
        """What every fluxgate process of the stack (and a client of it) needs."""
        assert self.github is not None
        return {
            **os.environ,
            **self.prefect_env(),
            "FLUXGATE_GITHUB__API_URL": self.github.url,
            "FLUXGATE_GITHUB__TOKEN": TOKEN,
            "FLUXGATE_GITHUB__MIN_WRITE_INTERVAL": "0",
            "FLUXGATE_FLUX_HMAC_KEY": FLUX_KEY,
            "FLUXGATE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "FLUXGATE_RESUME_INTERVAL": str(self.resume_interval),
            **self._store_env(),
        }

    def _store_env(self) -> dict[str, str]:
        connector = self.databases.get("connector")
        return {"FLUXGATE_DATABASE_URL": connector} if connector else {}

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[Any]:
        log = (self.data / f"{name}.log").open("w")
        self._logs.append(log)
        proc = subprocess.Popen(
            args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, text=True
        )
        self.processes[name] = proc
        return proc

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> Stack:
        self.data.mkdir(parents=True, exist_ok=True)
        try:
            if self.postgres is not None and not self.databases:
                tag = uuid.uuid4().hex[:8]
                for part in ("prefect", "connector"):
                    self.databases[part] = create_database(self.postgres, f"fluxgate_{tag}_{part}")
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_prefect(self) -> subprocess.Popen[Any]:
        """One Prefect server; or, with Redis, the HA shape: the database migrated once, API servers
        without services, one services process, HAProxy on `prefect_url`'s port in front."""
        port = int(self.prefect_url.split(":")[2].split("/")[0])
        env = {**os.environ, **self.prefect_env(), "PREFECT_UI_ENABLED": "true"}
        if self.redis is None:
            if "prefect" not in self.databases:
                seed_database(self.data / "prefect")
            return self._spawn("prefect-server", server_command(port), env)
        env |= ha_env(self.redis)
        migrate = subprocess.run(migrate_command(), env=env, capture_output=True, text=True, timeout=300)
        if migrate.returncode != 0:
            raise RuntimeError(f"migrating Prefect's database failed: {migrate.stderr[-2000:]}")
        ports = [free_port() for _ in range(API_SERVERS)]
        for n, api_port in enumerate(ports, 1):
            api = self._spawn(f"prefect-api-{n}", api_command(api_port), env)
            wait_until_up(f"http://127.0.0.1:{api_port}/api/health", api, f"prefect-api-{n}", timeout=120)
        self._spawn("prefect-services", services_command(), env)
        config = self.data / "haproxy.cfg"
        config.write_text(haproxy_config(port, ports))
        return self._spawn("prefect-lb", haproxy_command(config), env)

    def kill(self, name: str) -> None:
        """`kill -9` of one of the stack's processes (and its children): a crash, for the story."""
        proc = self.processes[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def _start(self) -> None:
        server = self._start_prefect()
        self.github = start_in_thread(self.data / "github", webhook_backoff=0.2)
        self.github.emulator.add_token(TOKEN, "fluxgate-bot")
        # The connector needs Prefect only to resume runs (it retries until Prefect answers): it starts
        # with the server, each being seconds of imports.
        port = self.connector_url.rsplit(":", 1)[1]
        connector = self._spawn(
            "connector",
            [str(_BIN / "fluxgate"), "connector", "--config", str(self.config), "--data",
             str(self.data / "connector"), "--host", "127.0.0.1", "--port", port],
            self.env(),
        )  # fmt: skip
        if self.seed is not None:
            self.seed(self.github.emulator, self.github.url)
        config = load_config(self.config)
        if config.manifests.repo not in self.github.emulator.state.repos:
            self.github.emulator.create_repo(config.manifests.repo, files={"README.md": "# manifests\n"})
        if config.code_repo and config.code_repo.lower() not in self.github.emulator.state.repos:
            # what the developer pushed: stages render it from GitHub
            self.github.emulator.create_repo(config.code_repo, files=files_in(self.config.parent))
        # The runner imports the flow while the server starts, then waits for it (`--wait`).
        serve = [str(_BIN / "fluxgate"), "serve", "--poll", str(self.poll), "--wait", "120"]
        runner = self._spawn("runner", serve, self.env())
        wait_until_up(f"{self.prefect_url}/health", server, "the Prefect server", timeout=120)
        wait_until_up(f"{self.connector_url}/healthz", connector, "the connector", timeout=60)
        self.github.emulator.add_hook(
            config.manifests.repo,
            f"{self.connector_url}/github/webhook",
            WEBHOOK_SECRET,
            ["pull_request", "status", "check_suite"],
        )
        self._wait_for_deployment(runner)

    def _wait_for_deployment(self, runner: subprocess.Popen[Any], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.prefect_url}/deployments/name/deploy-stage/deploy-stage"
        while httpx.get(url, timeout=5).status_code != 200:
            if runner.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("`fluxgate serve` did not register the deploy-stage deployment")
            time.sleep(0.2)

    def stop(self) -> None:
        for name in ("runner", "connector", "prefect-lb", *sorted(n for n in self.processes if "api" in n),
                     "prefect-services", "prefect-server"):  # fmt: skip
            proc = self.processes.get(name)
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
        if self.github is not None:
            self.github.stop()
        if self.postgres is not None and not self.keep_databases:
            for url in self.databases.values():
                drop_database(self.postgres, url.rsplit("/", 1)[1])
            self.databases.clear()
        for log in self._logs:
            log.close()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
