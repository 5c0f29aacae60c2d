"""The simulated notification-controller: a `generic-hmac` Provider and an Alert, posting every event.

Bodies are Flux's event JSON byte for byte in form: Go's field order, compact, map keys sorted and
`<`, `>`, `&` escaped as `encoding/json` does, signed with `X-Signature: sha256=<hex HMAC>` over the
raw body. Delivery is Flux's: a few attempts with backoff on connection errors and 5xx/429, then the
event is dropped and counted, never persisted. One sender thread keeps the events in the order the
controllers emitted them and never holds up a reconciliation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

__all__ = ["Notifier", "SentEvent", "encode", "flux_event", "sign"]

log = logging.getLogger(__name__)

_ATTEMPTS = 5  # notification-controller's retryablehttp client: RetryMax 4
_BACKOFF = 0.05  # seconds before the first retry, doubled each time (Flux waits 2-30 s; tests cannot)
_TIMEOUT = 5.0


@dataclass(frozen=True)
class SentEvent:
    """One event as a user of the sandbox sees it; `revision` is the commit sha ("" when none)."""

    cluster: str
    env: str
    kind: str
    name: str
    reason: str
    severity: str
    message: str
    revision: str
    delivered: bool  # the receiver answered 2xx


def flux_event(
    obj: dict[str, str], severity: str, reason: str, message: str, metadata: dict[str, str],
    controller: str, instance: str, at: datetime,
) -> dict[str, Any]:  # fmt: skip
    """An event as notification-controller forwards it: `obj` is the involvedObject, in Go's field order."""
    return {
        "involvedObject": obj,
        "severity": severity,
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "message": message,
        "reason": reason,
        "metadata": dict(sorted(metadata.items())),  # Go marshals map keys sorted
        "reportingController": controller,
        "reportingInstance": instance,
    }


def encode(event: dict[str, Any]) -> bytes:
    """JSON as Go's `encoding/json` writes it (compact, UTF-8, HTML-safe escapes)."""
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def sign(body: bytes, key: str) -> str:
    """The `X-Signature` header of the generic-hmac provider."""
    return "sha256=" + hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()


class Notifier:
    """Posts events to `url` from one daemon thread; `on_sent` hears of each once delivered or dropped."""

    def __init__(self, url: str, key: str, on_sent: Callable[[SentEvent], None]) -> None:
        self.url, self._key, self._on_sent = url, key, on_sent
        self.dropped = 0
        self._queue: queue.Queue[tuple[dict[str, Any], SentEvent] | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flux notification-controller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, event: dict[str, Any], seen: SentEvent) -> None:
        self._queue.put((event, seen))

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (no more retries once closing), then end the thread."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=_TIMEOUT) as client:
            while (item := self._queue.get()) is not None:
                event, seen = item
                delivered = self._post(client, event)
                if not delivered:
                    self.dropped += 1
                try:
                    self._on_sent(replace(seen, delivered=delivered))
                except Exception:  # a listener's bug must not stop the notifications
                    log.exception("on_event listener failed")

    def _post(self, client: httpx.Client, event: dict[str, Any]) -> bool:
        body = encode(event)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Go-http-client/1.1",  # notification-controller's retryablehttp client
            "Gotk-Component": str(event["reportingController"]),
            "X-Signature": sign(body, self._key),
        }
        what = f"{event['involvedObject']['kind']}/{event['involvedObject']['name']} {event['reason']}"
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                answer = client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}"
            else:
                if answer.is_success:
                    return True
                problem = f"HTTP {answer.status_code}"
                if answer.status_code < 500 and answer.status_code != 429:
                    break  # the receiver refused it: retrying will not change its mind
            if attempt == _ATTEMPTS or self._stopping.wait(_BACKOFF * 2 ** (attempt - 1)):
                break
        log.warning("dropped event %s for %s: %s", what, self.url, problem)
        return False
