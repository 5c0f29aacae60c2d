"""Keeping the processing process running beside the HTTP process, and starting it fast.

`fluxgate connector` answers requests in one process and works the inbox in another. This module is
light on purpose: the CLI calls `prepare_processing` before it imports the connector, so the fork
server imports the processing side while this process imports the HTTP side, on the other core.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fluxgate.connector.settings import ConnectorSettings

__all__ = ["Supervisor", "prepare_processing"]

log = logging.getLogger(__name__)


def prepare_processing() -> None:
    """Start the fork server that processing processes are forked from, importing the connector once,
    in parallel with this process's own start-up. A processing process is then ready in milliseconds,
    at the first start and after a crash, instead of re-importing everything (seconds on a busy
    machine, during which acknowledged deliveries wait). Call before anything starts threads."""
    import multiprocessing.forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["fluxgate.connector.service"])
    multiprocessing.forkserver.ensure_running()


class Supervisor:
    """The processing process, kept running: the HTTP process starts it (forked from the fork server,
    see `prepare_processing`), notices when it dies (even by `kill -9`), reaps it and starts another
    after a back-off that doubles up to 30 s (reset once one has run a minute). `/readyz` is unready
    while none is processing."""

    MAX_DELAY = 30.0

    def __init__(self, settings: ConnectorSettings, worker_id: str) -> None:
        self.settings, self.worker_id = settings, worker_id
        self._context = multiprocessing.get_context("forkserver")
        self._child: multiprocessing.process.BaseProcess | None = None
        self._ready: Any = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.restarts = 0

    def start(self) -> None:
        """Returns at once: the first processing process is forked as soon as the fork server has
        imported the connector, while this process already acknowledges deliveries."""
        self._thread = threading.Thread(target=self._watch, name="connector-supervisor", daemon=True)
        self._thread.start()

    def _spawn(self) -> multiprocessing.process.BaseProcess | None:
        from fluxgate.connector.service import run_processing

        with self._lock:  # never a new process once `stop` has begun
            if self._stopping.is_set():
                return None
            self._ready = self._context.Event()
            self._child = self._context.Process(
                target=run_processing,
                args=(self.settings, self.worker_id, self._ready),
                name="fluxgate-connector-worker",
                daemon=True,
            )
            self._child.start()
            return self._child

    def _watch(self) -> None:
        delay = self.settings.supervise_backoff
        while (child := self._spawn()) is not None:
            started = time.monotonic()
            multiprocessing.connection.wait([child.sentinel])
            child.join()  # reap it: no defunct process left behind
            if self._stopping.is_set():
                return
            if time.monotonic() - started > 60:
                delay = self.settings.supervise_backoff
            log.warning(
                "the processing process %s exited with %s; starting another in %.1f s",
                child.pid,
                child.exitcode,
                delay,
            )
            if self._stopping.wait(delay):
                return
            delay = min(self.MAX_DELAY, delay * 2)
            self.restarts += 1

    def wait_ready(self, timeout: float) -> bool:
        """Block until a processing process works the inbox, at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not self.check()[1]:
            if time.monotonic() > deadline or self._stopping.is_set():
                return False
            time.sleep(0.02)
        return True

    def check(self) -> tuple[str, bool, str | None]:
        child, ready = self._child, self._ready
        if child is None or not child.is_alive():
            return "processing", False, "the processing process is down; restarting it"
        if ready is None or not ready.is_set():
            return "processing", False, "the processing process is starting"
        return "processing", True, None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            child = self._child
        if child is not None and child.is_alive():
            child.terminate()
            child.join(timeout=15)
            if child.is_alive():
                child.kill()
                child.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)
