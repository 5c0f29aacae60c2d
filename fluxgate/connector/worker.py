"""Processing the inbox, off the request path: claim a batch, work it in parallel, settle each delivery.

Deliveries about the same Flux object (or the same GitHub repository) are handled in arrival order
by one thread; different objects run in parallel, so a slow GitHub (100 ms a call) does not queue
every environment behind one. Each delivery ends in exactly one of, decided by what was raised
(`fluxgate.errors`):

- done: the handler returned what it did;
- ignored, with why: `Ignored` (a valid delivery that asks nothing of us);
- parked as failed at once: any other `PermanentError` (GitHub refused it as it stands: 401, 403,
  404, 422; a setting is missing) or a body that does not validate; listed at
  `/deliveries?state=failed`, never dropped;
- retried later: a `RetryableError` after its `retry_after`, anything else (a bug, an unexpected
  answer) with exponential backoff, and parked as failed after `max_attempts`.

An exception never stops the loop, and a delivery whose outcome the store cannot record is parked
with the store's reason rather than left claimed: one bad delivery never holds up another.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from pydantic import ValidationError

from fluxgate.connector.metrics import Metrics
from fluxgate.connector.store import Delivery, Source, Store
from fluxgate.errors import Ignored, PermanentError, RetryableError, one_line

__all__ = ["Handler", "Worker"]

log = logging.getLogger(__name__)

Handler = Callable[[Delivery], str]
MAX_DELAY = 300.0


def group_of(delivery: Delivery) -> str:
    """Deliveries that must be handled in order share a group."""
    try:
        body = json.loads(delivery.body)
    except (ValueError, RecursionError):
        return f"{delivery.source}:{delivery.id}"
    if delivery.source == Source.FLUX and isinstance(body, dict):
        obj = body.get("involvedObject") or {}
        if isinstance(obj, dict):
            return f"flux:{obj.get('kind')}/{obj.get('namespace')}/{obj.get('name')}"
    if isinstance(body, dict) and isinstance(body.get("repository"), dict):
        return f"github:{body['repository'].get('full_name')}"
    return f"{delivery.source}:{delivery.id}"


class Worker:
    def __init__(
        self,
        store: Store,
        handlers: dict[Source, Handler],
        metrics: Metrics,
        *,
        threads: int = 8,
        batch: int = 64,
        max_attempts: int = 10,
        backoff: float = 1.0,
        poll_interval: float = 0.05,
    ) -> None:
        self.store, self.handlers, self.metrics = store, handlers, metrics
        self.batch, self.max_attempts, self.backoff, self.poll_interval = (
            batch,
            max_attempts,
            backoff,
            poll_interval,
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="connector-worker")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="connector-inbox", daemon=True)
        self._thread.start()

    def stop(self, grace: float = 30.0) -> None:
        """Finish the batch in hand if it takes less than `grace` seconds; claims left behind come back."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=grace)
        self._pool.shutdown(wait=not (self._thread and self._thread.is_alive()), cancel_futures=True)

    def wake(self) -> None:
        """A new delivery arrived: look now instead of at the next poll."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # the store is down, say: keep the loop alive and try again
                log.exception("inbox loop failed; retrying")
                worked = 0
            if not worked:
                self._wake.wait(self.poll_interval)
                self._wake.clear()

    def run_once(self) -> int:
        claimed = self.store.claim(self.batch)
        groups: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in claimed:
            groups[group_of(delivery)].append(delivery)
        list(self._pool.map(self._work_group, groups.values()))
        return len(claimed)

    def _work_group(self, group: list[Delivery]) -> None:
        for delivery in group:
            try:
                self._work(delivery)
            except Exception:  # the store refused even the fallback: the lease brings it back later
                log.exception(
                    "could not settle delivery %s; it comes back when its claim expires", delivery.id
                )

    def _work(self, delivery: Delivery) -> None:
        handler = self.handlers.get(delivery.source)
        try:
            if handler is None:
                raise Ignored(f"no handler for {delivery.source}")
            note = handler(delivery)
        except Ignored as why:
            self._settle(delivery, "ignored", partial(self.store.ignored, delivery.id, str(why)))
        except (PermanentError, ValidationError) as error:  # the same delivery fails the same way: park now
            self._park(delivery, error)
        except RetryableError as error:  # GitHub down or rate limited: back off as long as it asks
            self._settle(delivery, None, partial(self._retry, delivery, error))
        except Exception as error:  # a bug or an unexpected answer: keep the delivery, try again later
            log.exception("processing delivery %s failed", delivery.id)
            self._settle(delivery, None, partial(self._retry, delivery, error))
        else:
            self._settle(delivery, "done", partial(self.store.done, delivery.id, note))

    def _park(self, delivery: Delivery, error: Exception) -> None:
        self._settle(
            delivery, "failed", partial(self.store.park, delivery.id, delivery.attempts, one_line(error))
        )
        log.warning("delivery %s parked as failed: %s", delivery.id, one_line(error))

    def _settle(self, delivery: Delivery, result: str | None, record: Callable[[], None]) -> None:
        """Record how a delivery ended. When the store refuses that record (a value it cannot hold),
        park the delivery with the store's reason instead: a claimed delivery is never left behind
        to be claimed again forever, holding up its group."""
        try:
            record()
        except Exception as error:
            log.warning(
                "delivery %s: recording its outcome failed (%s); parking it", delivery.id, one_line(error)
            )
            self.store.park(
                delivery.id, delivery.attempts, f"could not record its outcome: {one_line(error)}"
            )
            result = "failed"
        if result is not None:
            self._settled(delivery, result)

    def _settled(self, delivery: Delivery, result: str) -> None:
        self.metrics.processed.labels(delivery.source, result).inc()
        self.metrics.latency.labels(delivery.source).observe(max(0.0, time.time() - delivery.received_at))

    def _retry(self, delivery: Delivery, error: Exception) -> None:
        delay = min(MAX_DELAY, self.backoff * 2**delivery.attempts)
        if isinstance(error, RetryableError):
            delay = max(delay, min(MAX_DELAY, error.retry_after))
        message = one_line(error)
        again = self.store.retry_later(delivery.id, delivery.attempts, message, delay, self.max_attempts)
        self.metrics.retries.labels(delivery.source).inc()
        if not again:
            self.metrics.processed.labels(delivery.source, "failed").inc()
            log.warning("delivery %s parked as failed: %s", delivery.id, message)
