"""Serving a sandbox ASGI app on localhost from a background thread (tests and the demo)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from typing import Any

import httpx
import uvicorn

__all__ = ["ThreadedServer", "free_port", "wait_until_up"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[Any], what: str, timeout: float) -> None:
    """Poll `url` until it answers 200; fail with the process's own words if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            said = proc.communicate()[1] if proc.stderr else None
            raise RuntimeError(f"{what} exited with {proc.returncode}: {said or 'see its log'}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f} s")
        time.sleep(0.1)


class ThreadedServer:
    """`app` served by uvicorn on 127.0.0.1 in a daemon thread; `url` once started, `stop()` to end."""

    def __init__(self, app: Any, name: str, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.name, self.port = name, port or free_port()
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def start(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the {self.name} did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
