"""A real HTTP service for post-deploy checks, answering from a script the test edits as it goes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["scripted_service"]


class _Answers(BaseHTTPRequestHandler):
    script: list[tuple[int, str]] = []

    def do_GET(self) -> None:
        """Answers in order; the last answer repeats."""
        status, body = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: Any) -> None:
        pass


@contextmanager
def scripted_service(*answers: tuple[int, str]) -> Iterator[tuple[str, list[tuple[int, str]]]]:
    """(URL of /healthz, the script): append or replace answers to change what it says."""
    script = list(answers)
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_Answers,), {"script": script}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz", script
    finally:
        server.shutdown()
        server.server_close()
