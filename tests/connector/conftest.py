"""The connector talking to the emulated GitHub over HTTP, served on a port of its own per test.

Each test gets its own manifests repository and its own connector (data folder, port, keys), so
deliveries, statuses and Deployments never leak between tests. The connector is served in this
process (uvicorn in a thread, processing in threads: `Connector(settings, separate_process=False)`),
which starts in a fraction of a second; tests marked `connector_process` get the real
`fluxgate connector` process instead, for what only a process shows (a `kill -9`, the worker
process's metrics).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxgate.connector.service import Processing
from fluxgate.connector.signatures import flux_signature, github_signature
from fluxgate.sandbox.github import RunningEmulator, free_port
from tests.cli.conftest import EXAMPLES, FLUXGATE
from tests.conftest import TOKEN
from tests.prefect_runs import cancel_waiting
from tests.servers import wait_until_up

FLUX_KEY = "flux-hmac-key-for-tests"
WEBHOOK_SECRET = "github-webhook-secret-for-tests"
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "flux"
THREADS = "connector-"  # the names of every thread the in-process connector starts begin so


class _ConnectorLog(logging.Handler):
    """What the connector's threads log at WARNING or above, formatted as its process would print it
    on stderr (with tracebacks): `stop()` returns it, so "no Traceback" means the same in-process."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName and record.threadName.startswith(THREADS):
            self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


@contextlib.contextmanager
def _environment(changes: dict[str, str]) -> Iterator[None]:
    """`changes` in os.environ until exit, then the environment as it was."""
    saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _prefect_api_in_every_thread(url: str | None) -> Iterator[None]:
    """Threads that Prefect's settings context does not reach (the connector's resume sweep, its
    stage starter) read Prefect's global settings, fixed when Prefect was first imported; a
    `fluxgate connector` process would have read PREFECT_API_URL from its environment instead."""
    if not url:
        yield
        return
    import prefect.context
    from prefect.settings import PREFECT_API_URL

    before = prefect.context.GLOBAL_SETTINGS_CONTEXT
    prefect.context.GLOBAL_SETTINGS_CONTEXT = prefect.context.SettingsContext(
        profile=before.profile, settings=before.settings.copy_with_update(updates={PREFECT_API_URL: url})
    )
    try:
        yield
    finally:
        prefect.context.GLOBAL_SETTINGS_CONTEXT = before


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):  # a child may be any thread's
        with contextlib.suppress(OSError):
            found.extend(int(child) for child in children.read_text().split())
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@dataclass
class InProcessServing:
    """One in-process connector: uvicorn in a thread with the lifespan on (which starts and stops the
    processing threads, as `fluxgate connector` does), plus what it logged."""

    thread: threading.Thread
    server: Any
    log: _ConnectorLog
    connector: Any
    scope: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def stop(self) -> str:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the in-process connector did not stop"
        self.scope.close()
        return self.log.text()


@dataclass
class ConnectorProcess:
    """A connector on `url`: in this process unless `separate_process` (then `fluxgate connector`)."""

    url: str
    data: Path
    config: Path
    repo: str
    env: dict[str, str]
    port: int
    proc: subprocess.Popen[str] | None = None
    separate_process: bool = False
    serving: InProcessServing | None = None

    def start(self) -> None:
        if not self.separate_process:
            self._serve_in_process()
            return
        self.start_detached()
        assert self.proc is not None
        wait_until_up(f"{self.url}/healthz", self.proc, "connector", timeout=30)

    def start_detached(self) -> None:
        """`fluxgate connector` started, not waited for (replicas started at the same instant)."""
        self.proc = subprocess.Popen(
            [
                str(FLUXGATE),
                "connector",
                "--config",
                str(self.config),
                "--data",
                str(self.data),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            start_new_session=True,  # its own process group: `kill` reaches the worker process too
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def _serve_in_process(self) -> None:
        """As `fluxgate connector` serves, with `self.env` as its environment: what differs from this
        process's environment is set while the settings are read, and PREFECT_API_URL (read at every
        start, `/readyz` and sweep) while the connector runs; the test's own code sees the rest unchanged."""
        import uvicorn

        from fluxgate.connector import Connector, ConnectorSettings

        changes = {name: value for name, value in self.env.items() if os.environ.get(name) != value}
        lasting = {name: value for name, value in changes.items() if name == "PREFECT_API_URL"}
        log = _ConnectorLog()
        scope = contextlib.ExitStack()
        scope.enter_context(_environment(lasting))
        scope.enter_context(_prefect_api_in_every_thread(os.environ.get("PREFECT_API_URL")))
        for logger in (logging.getLogger(), logging.getLogger("uvicorn")):
            logger.addHandler(log)
            scope.callback(logger.removeHandler, log)
        try:
            with _environment(changes):
                connector = Connector(ConnectorSettings(configs=[self.config], data_dir=self.data))
            config = uvicorn.Config(
                connector.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                lifespan="on", log_config=None,
            )  # fmt: skip
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, name=f"{THREADS}http", daemon=True)
            self.serving = InProcessServing(thread, server, log, connector, scope)
            thread.start()
            deadline = time.monotonic() + 30
            while not server.started:
                assert thread.is_alive(), f"the connector did not start: {log.text()}"
                assert time.monotonic() < deadline, "the connector did not start within 30 s"
                time.sleep(0.01)
        except BaseException:
            if self.serving is not None:
                self.serving.stop()
                self.serving = None
            else:
                scope.close()
            raise

    def kill(self) -> None:
        """`kill -9` of the whole connector (both processes, as when its container dies): no chance to
        flush or finish anything."""
        assert self.proc is not None, "kill() needs the connector's process: mark the test connector_process"
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=10)

    def processing_pids(self) -> list[int]:
        """The processing processes of a `fluxgate connector` process: children of its fork server."""
        assert self.proc is not None, "needs the connector's process: mark the test connector_process"
        servers = [c for c in _children(self.proc.pid) if b"forkserver" in _cmdline(c)]
        return [child for server in servers for child in _children(server)]

    def kill_processing(self) -> int:
        """`kill -9` of the processing process alone (the HTTP process lives on); returns its pid."""
        (child,) = self.processing_pids()
        os.kill(child, signal.SIGKILL)
        return child

    def stop(self) -> str:
        """Stops the connector; returns what it printed on stderr (in-process: what it logged)."""
        if self.serving is not None:
            serving, self.serving = self.serving, None
            return serving.stop()
        if self.proc is None or self.proc.poll() is not None:
            return ""
        self.proc.terminate()
        return self.proc.communicate(timeout=30)[1]

    # -- sending -------------------------------------------------------------------------------
    def flux(
        self, event: dict[str, Any] | bytes, key: str | None = FLUX_KEY, **headers: str
    ) -> httpx.Response:
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        sent = {"Content-Type": "application/json", "Gotk-Component": "kustomize-controller", **headers}
        if key is not None:
            sent["X-Signature"] = flux_signature(body, key)
        return httpx.post(f"{self.url}/flux/events", content=body, headers=sent, timeout=10)

    def webhook(
        self, event: str, payload: dict[str, Any], delivery: str, secret: str = WEBHOOK_SECRET
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        return httpx.post(
            f"{self.url}/github/webhook",
            content=body,
            timeout=10,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": github_signature(body, secret),
            },
        )

    def opt_in_dispatch(self, github: RunningEmulator) -> str:
        """Restart with the shop's code repo set and dev opted into `repository_dispatch`; returns
        the code repo (created in the emulator)."""
        code_repo = self.repo + "-code"
        github.emulator.create_repo(code_repo)
        self.stop()
        text = self.config.read_text().replace("app: shop\n", f"app: shop\ncode_repo: {code_repo}\n", 1)
        opted = "    auto_promote: true\n    repository_dispatch: true\n"  # dev's: the first of them
        self.config.write_text(text.replace("    auto_promote: true\n", opted, 1))
        self.start()
        return code_repo

    def open_promotion(
        self, emulated: RunningEmulator, cache: Path, env: str, version: str
    ) -> tuple[Any, int]:
        """Subscribe this connector to the repo's PR webhooks and open a promotion PR through the gateway;
        returns the gateway and the PR number."""
        from fluxgate.github import GitHubGateway, GitHubSettings, Promotion, promote

        emulated.emulator.add_hook(
            self.repo, f"{self.url}/github/webhook", WEBHOOK_SECRET, ["pull_request", "push"]
        )
        gw = GitHubGateway(
            GitHubSettings(api_url=emulated.url, token=TOKEN, min_write_interval=0), cache=cache
        )
        outcome = promote(
            gw,
            self.repo,
            "main",
            Promotion(app="shop", env=env, version=version),
            {f"{env}/a.yaml": f"version: {version}\n".encode()},
            [env],
            "summary",
        )
        assert outcome.pull_request is not None
        return gw, outcome.pull_request.number

    def settle(self, timeout: float = 20) -> dict[str, Any]:
        """Wait until no delivery is pending and no GitHub write waits; returns the deliveries listing."""
        deadline = time.monotonic() + timeout
        while True:
            listing = httpx.get(f"{self.url}/deliveries", timeout=5).json()
            writing = sum(n for rank, n in listing["writes"].items() if rank != "failed")
            if not listing["counts"].get("pending") and not writing:
                return listing
            assert time.monotonic() < deadline, listing
            time.sleep(0.05)


def head(github: RunningEmulator, repo: str) -> str:
    """The commit `main` of `repo` points at in the emulated GitHub."""
    return github.emulator.head(repo)


def posts(github: RunningEmulator, repo: str, route: str) -> list[Any]:
    """The successful POSTs to `route` (a template) of `repo`: the emulator serves every test."""
    return [
        r for r in github.emulator.calls()
        if r.method == "POST" and r.route == route and r.status < 300 and r.path.startswith(f"/repos/{repo}/")
    ]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_run_left_waiting(request: pytest.FixtureRequest) -> Iterator[None]:
    """Stage runs a test left paused are cancelled after it, so no later test's connector finds them."""
    yield
    if "prefect_api" in request.fixturenames:
        cancel_waiting(request.getfixturevalue("prefect_api"))


@pytest.fixture
def connector(
    request: pytest.FixtureRequest, github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> Iterator[ConnectorProcess]:
    text = (EXAMPLES / "shop" / "fluxgate.yaml").read_text()
    config = tmp_path / "fluxgate.yaml"
    config.write_text(re.sub(r"repo: acme/shop-manifests", f"repo: {manifests_repo}", text))
    port = free_port()
    env = {
        **os.environ,
        "FLUXGATE_GITHUB__API_URL": github.url,
        "FLUXGATE_GITHUB__TOKEN": TOKEN,
        "FLUXGATE_GITHUB__MIN_WRITE_INTERVAL": "0",
        "FLUXGATE_GITHUB__BACKOFF": "0.05",
        "FLUXGATE_GITHUB__RETRIES": "1",
        "FLUXGATE_FLUX_HMAC_KEY": FLUX_KEY,
        "FLUXGATE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FLUXGATE_BACKOFF": "0.1",
        "FLUXGATE_WRITE_SETTLE": "0.1",
    }
    process = ConnectorProcess(
        f"http://127.0.0.1:{port}", tmp_path / "data", config, manifests_repo, env, port,
        separate_process=request.node.get_closest_marker("connector_process") is not None,
    )  # fmt: skip
    process.start()
    yield process
    errors = process.stop()
    assert "Traceback" not in errors, errors


@pytest.fixture
def make_processing(
    prefect_api: str,
    github: RunningEmulator,
    manifests_repo: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Processing]]:
    """Build the connector's processing side in this process (the worker is driven by hand with
    `worker.run_once()`, sweeps with `resumer.sweep()`), talking to the session's Prefect server."""
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    from fluxgate.connector.metrics import Metrics
    from fluxgate.connector.settings import ConnectorSettings

    config = tmp_path / "fluxgate.yaml"
    config.write_text(
        (EXAMPLES / "shop" / "fluxgate.yaml")
        .read_text()
        .replace("repo: acme/shop-manifests", f"repo: {manifests_repo}")
    )
    built: list[Processing] = []

    def make(**settings: Any) -> Processing:
        processing = Processing(
            ConnectorSettings(
                data_dir=tmp_path / "data",
                configs=[config],
                github={"api_url": github.url, "token": TOKEN, "min_write_interval": 0},
                **{"write_settle": 0.0, **settings},
            ),
            Metrics(),
        )
        built.append(processing)
        return processing

    with temporary_settings({PREFECT_API_URL: prefect_api, PREFECT_LOGGING_TO_API_ENABLED: False}):
        monkeypatch.setenv("PREFECT_API_URL", prefect_api)
        yield make
        for processing in built:
            processing.stop()


@pytest.fixture
def processing(make_processing: Callable[..., Processing]) -> Processing:
    return make_processing()


def drain_writes(processing: Processing) -> None:
    """Make every GitHub write the outbox holds (its threads are not started in these tests)."""
    while processing.outbox.run_once() == 0.0:
        pass


def kustomization_event(
    sha: str,
    reason: str,
    message: str,
    *,
    env: str = "dev",
    cluster: str = "dev-eu",
    name: str = "shop",
    severity: str = "info",
    timestamp: str = "2026-01-01T10:00:00Z",
    prefixed: bool = False,
) -> dict[str, Any]:
    """A Flux event as the generic provider sends it, labelled by the Alert's eventMetadata."""
    prefix = "kustomize.toolkit.fluxcd.io/" if prefixed else ""
    return {
        "involvedObject": {
            "kind": "Kustomization",
            "namespace": "flux-system",
            "name": name,
            "uid": "0c9c2e41-1111-2222-3333-444455556666",
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        },
        "severity": severity,
        "timestamp": timestamp,
        "message": message,
        "reason": reason,
        "metadata": {f"{prefix}revision": f"main@sha1:{sha}", "env": env, "cluster": cluster},
        "reportingController": "kustomize-controller",
        "reportingInstance": "kustomize-controller-7c7b47f5f-8bhrp",
    }
