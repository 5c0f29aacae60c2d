"""A real HTTP webhook receiver for the emulator's tests.

It checks `X-Hub-Signature-256` exactly as GitHub's "Validating webhook deliveries" page says a
receiver should (HMAC-SHA256 of the raw body keyed with the secret, hex, prefixed `sha256=`, compared
in constant time), so a test proves what a real receiver would accept, not what the emulator thinks
it sent. It can be told to answer 500, to hang up without answering, or to be down (nothing
listening), which is how retries and redelivery are exercised without sleeps or mocks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Received", "Receiver", "running_receiver", "verify_signature"]


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """GitHub's documented check: `sha256=` + hex HMAC of the raw body, compared with compare_digest."""
    if not header:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


@dataclass(frozen=True)
class Received:
    """One request as it arrived, and what the receiver answered (0: hung up without answering)."""

    event: str | None
    delivery: str | None
    headers: dict[str, str]  # names lower-cased
    body: bytes
    payload: Any
    signature_ok: bool
    answered: int

    @property
    def action(self) -> str | None:
        action = self.payload.get("action") if isinstance(self.payload, dict) else None
        return action if isinstance(action, str) else None


class Receiver:
    """Records every request; `fail_next`, `drop_next` and `stop`/`start` make deliveries fail."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._failures: list[int] = []  # answers for the next requests: a status, or 0 to hang up
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def fail_next(self, times: int, status: int = 500) -> None:
        with self._lock:
            self._failures += [status] * times

    def drop_next(self, times: int) -> None:
        """Close the next `times` connections without an HTTP answer (what a crashed handler does)."""
        self.fail_next(times, status=0)

    def start(self) -> None:
        """Listen (again) on the same port, so a hook created earlier reaches it."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="webhook-receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: deliveries now fail with a refused connection, like a receiver that is down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def accepted(self, event: str | None = None, action: str | None = None) -> list[Received]:
        """Requests answered 2xx, optionally only those of one event (and action)."""
        with self._lock:
            found = list(self.received)
        return [r for r in found if 200 <= r.answered < 300 and (event is None or r.event == event)
                and (action is None or r.action == action)]

    def one(self, event: str, action: str | None = None) -> Received:
        found = self.accepted(event, action)
        assert len(found) == 1, f"expected one {event} {action or ''} delivery, got {self.summary()}"
        return found[0]

    def summary(self) -> list[tuple[str | None, str | None, int]]:
        with self._lock:
            return [(r.event, r.action, r.answered) for r in self.received]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    answer = receiver._failures.pop(0) if receiver._failures else 200
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                receiver._record(Received(
                    event=headers.get("x-github-event"), delivery=headers.get("x-github-delivery"),
                    headers=headers, body=body, payload=payload,
                    signature_ok=verify_signature(receiver.secret, body, headers.get("x-hub-signature-256")),
                    answered=answer,
                ))
                if answer == 0:
                    self.close_connection = True
                    return
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: pytest shows the recorded requests when an assertion fails."""

        return Handler

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)


@contextmanager
def running_receiver(secret: str) -> Iterator[Receiver]:
    receiver = Receiver(secret)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
