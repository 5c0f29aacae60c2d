"""Run the emulated GitHub: in a background thread (tests, the demo) or in the foreground (the CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import uvicorn

from fluxgate.github.limits import Window
from fluxgate.sandbox.github.app import create_app
from fluxgate.sandbox.github.emulator import Emulator
from fluxgate.sandbox.serving import ThreadedServer, free_port

__all__ = ["RunningEmulator", "free_port", "serve", "start_in_thread"]


class RunningEmulator:
    """An emulator served on localhost; `url` is its API base URL, `stop()` shuts it down."""

    def __init__(self, emulator: Emulator, server: ThreadedServer) -> None:
        self.emulator, self._server, self.port, self.url = emulator, server, server.port, server.url

    def stop(self) -> None:
        self._server.stop()
        self.emulator.close()


def start_in_thread(data: Path, port: int | None = None, **options: object) -> RunningEmulator:
    emulator = Emulator(data, **options)  # type: ignore[arg-type]
    server = ThreadedServer(create_app(emulator), "GitHub emulator", port)
    emulator.base_url = server.url
    return RunningEmulator(emulator, server.start())


def serve(data: Path, host: str, port: int, latency: float = 0.0, record_bodies: bool = False,
          secondary_limits: Sequence[Window] | None = None, secondary_limit_status: int = 403) -> None:
    """Serve until interrupted (`fluxgate sandbox github`)."""
    emulator = Emulator(data, latency=latency, record_bodies=record_bodies, secondary_limits=secondary_limits,
                        secondary_limit_status=secondary_limit_status)
    try:
        emulator.base_url = f"http://{host}:{port}"
        config = uvicorn.Config(
            create_app(emulator), host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        uvicorn.Server(config).run()
    finally:
        emulator.close()
