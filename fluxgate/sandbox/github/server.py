"""Run the emulated GitHub: in a background thread (tests, the demo) or in the foreground (the CLI)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from fluxgate.sandbox.github.app import create_app
from fluxgate.sandbox.github.emulator import Emulator

__all__ = ["RunningEmulator", "free_port", "serve", "start_in_thread"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningEmulator:
    """An emulator served on localhost; `url` is its API base URL, `stop()` shuts it down."""

    def __init__(
        self, emulator: Emulator, server: uvicorn.Server, thread: threading.Thread, port: int
    ) -> None:
        self.emulator, self._server, self._thread, self.port = emulator, server, thread, port
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.emulator.close()


def _server(emulator: Emulator, host: str, port: int) -> uvicorn.Server:
    emulator.base_url = f"http://{host}:{port}"
    config = uvicorn.Config(
        create_app(emulator), host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    return uvicorn.Server(config)


def start_in_thread(data: Path, port: int | None = None, **options: object) -> RunningEmulator:
    emulator = Emulator(data, **options)  # type: ignore[arg-type]
    port = port or free_port()
    server = _server(emulator, "127.0.0.1", port)
    thread = threading.Thread(target=server.run, name="github-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the GitHub emulator did not start on port {port}")
        time.sleep(0.02)
    return RunningEmulator(emulator, server, thread, port)


def serve(data: Path, host: str, port: int, latency: float = 0.0, record_bodies: bool = False) -> None:
    """Serve until interrupted (`fluxgate sandbox github`)."""
    emulator = Emulator(data, latency=latency, record_bodies=record_bodies)
    try:
        _server(emulator, host, port).run()
    finally:
        emulator.close()
