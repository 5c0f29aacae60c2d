"""Webhook deliveries: signed like GitHub's, sent from a background thread, retried, and listed.

GitHub signs the raw body with HMAC-SHA256 of the hook's secret (`X-Hub-Signature-256: sha256=<hex>`)
and names each delivery in `X-GitHub-Delivery`; a receiver must answer within 10 s. A delivery that
gets no 2xx is tried again with backoff (`attempts` times in all); every attempt is recorded, so
`GET /repos/{o}/{r}/hooks/{id}/deliveries` and tests can see what was lost. (github.com itself never
retries; a retry here is an automatic redelivery.) Retries and redeliveries keep the delivery's GUID,
as GitHub's redeliveries do: `X-GitHub-Delivery` names the event, so receivers can de-duplicate by it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from fluxgate.sandbox.github.state import DeliveryAttempt, DeliveryRecord, HookRecord

__all__ = ["Dispatcher", "attempt_id", "sign"]

# Retries have no record of their own, so the deliveries API names them with ids far above the
# sandbox's id counter (GitHub's delivery ids are that large too): never equal to a real one.
_RETRY_IDS = 10**10
_MAX_ATTEMPTS = 100


def attempt_id(delivery: DeliveryRecord, attempt: int) -> int:
    """The deliveries API's `id` of one attempt: the delivery's own id first, then one per retry."""
    return delivery.id if attempt == 0 else _RETRY_IDS + delivery.id * _MAX_ATTEMPTS + attempt


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Dispatcher:
    """Sends queued deliveries in order; `settle()` waits until nothing is in flight (tests, demo)."""

    def __init__(self, on_change: Callable[[], None], attempts: int = 3, backoff: float = 0.5,
                 timeout: float = 10.0) -> None:
        self._queue: queue.Queue[tuple[HookRecord, DeliveryRecord, int] | None] = queue.Queue()
        self._on_change = on_change
        self.attempts = min(attempts, _MAX_ATTEMPTS)
        self.backoff = backoff
        self._client = httpx.Client(timeout=timeout)
        self._pending = 0
        self._idle = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)
        self._thread.start()

    def new_delivery(self, delivery_id: int, hook: HookRecord, event: str, payload: dict[str, Any],
                     redelivery: bool = False, guid: str | None = None) -> DeliveryRecord:
        """Queue one delivery; a redelivery passes the original's `guid` and is tried once."""
        delivery = DeliveryRecord(
            id=delivery_id, guid=guid or str(uuid.uuid4()), hook_id=hook.id, event=event,
            action=payload.get("action") if isinstance(payload.get("action"), str) else None,
            payload=payload, redelivery=redelivery,
        )
        with self._idle:
            self._pending += 1
        self._queue.put((hook, delivery, self.attempts if not redelivery else 1))
        return delivery

    def settle(self, timeout: float = 30.0) -> bool:
        """Block until every queued delivery has succeeded or run out of attempts."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._client.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            hook, delivery, attempts = item
            try:
                for attempt in range(attempts):
                    if attempt:
                        time.sleep(self.backoff * 2 ** (attempt - 1))
                    if self._send(hook, delivery):
                        break
            finally:
                self._on_change()
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _send(self, hook: HookRecord, delivery: DeliveryRecord) -> bool:
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/fluxgate-sandbox",
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Hook-ID": str(hook.id),
            "X-GitHub-Hook-Installation-Target-Type": "repository",
            "X-GitHub-Hook-Installation-Target-ID": str(delivery.payload.get("repository", {}).get("id", 0)),
        }
        if hook.secret:
            headers["X-Hub-Signature-256"] = sign(hook.secret, body)
            legacy = hmac.new(hook.secret.encode(), body, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature"] = "sha1=" + legacy
        started = time.monotonic()
        try:
            response = self._client.post(hook.url, content=body, headers=headers)
            code, error = response.status_code, None
        except Exception as exc:  # any receiver URL or failure must leave the dispatcher thread running
            code, error = 0, type(exc).__name__
        duration = time.monotonic() - started
        attempt = DeliveryAttempt(at=time.time(), status_code=code, duration=duration, error=error)
        delivery.attempts.append(attempt)
        return 200 <= code < 300
