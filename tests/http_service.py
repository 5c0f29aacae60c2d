"""A real HTTP service for post-deploy checks, answering from a script the test edits as it goes.

`scripted_service` gives (URL of /healthz, the script); `recording_service` also records every
request it answered (method, headers, body) and can serve HTTPS with a given SSL context.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Seen", "Service", "recording_service", "scripted_service"]


@dataclass(frozen=True)
class Seen:
    """One request as the service received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Service:
    url: str
    script: list[tuple[int, str]]
    seen: list[Seen] = field(default_factory=list)


class _Answers(BaseHTTPRequestHandler):
    script: list[tuple[int, str]] = []
    seen: list[Seen] = []

    def _answer(self) -> None:
        """Answers in order; the last answer repeats."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
        status, text = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        self.send_response(status)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(text.encode())

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, *_args: Any) -> None:
        pass


@contextmanager
def recording_service(*answers: tuple[int, str], tls: ssl.SSLContext | None = None) -> Iterator[Service]:
    """A service on 127.0.0.1 answering from `answers` (edit `.script` to change what it says)."""
    service = Service(url="", script=list(answers))
    handler = type("Handler", (_Answers,), {"script": service.script, "seen": service.seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    service.url = f"{scheme}://127.0.0.1:{server.server_address[1]}/healthz"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def scripted_service(*answers: tuple[int, str]) -> Iterator[tuple[str, list[tuple[int, str]]]]:
    """(URL of /healthz, the script): append or replace answers to change what it says."""
    with recording_service(*answers) as service:
        yield service.url, service.script
