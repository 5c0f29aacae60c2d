"""GitHub writes, coalesced and paced: what a Flux event changes is queued, and sent by a few threads.

Handling an event decides what GitHub should show (a commit status, a Deployment's state) and
`want`s it: one row per target in the store's outbox, so a newer state for the same target replaces
one not sent yet, and a burst of events costs one write per target, the newest. Targets are never
merged across commits: every commit keeps its own final status.

`Outbox` threads take rows (verdicts first, then the oldest), once their target has been quiet for
`settle` seconds (or was first wanted `max_hold` seconds ago), and hand each to the writer for its
kind. A writer spends from the `WriteBudget` before each call to GitHub. How a write ends:

- written: the row goes, unless a newer state replaced it meanwhile (then that one is sent);
- no budget left, or GitHub asked to wait (every replica pauses then): the row waits as long;
- refused for good (`PermanentError`: 404, 422): kept with why, counted on `/metrics`, not repeated;
- anything else: tried again with backoff, given up like a refusal after `max_attempts`.

Writers go through `Effects.once`, so a write interrupted by a crash is looked up before it is
repeated.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from fluxgate.connector.budget import BudgetWait, WriteBudget
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.store import Store, Write
from fluxgate.errors import PermanentError, RetryableError, one_line
from fluxgate.github import GitHubRateLimited

__all__ = ["Outbox", "Spend", "Writer"]

log = logging.getLogger(__name__)

Spend = Callable[[], None]
Writer = Callable[[dict[str, Any], Spend], None]


class Outbox:
    def __init__(
        self,
        store: Store,
        budget: WriteBudget,
        metrics: Metrics,
        *,
        threads: int = 4,
        settle: float = 1.0,
        max_hold: float = 10.0,
        lease: float = 120.0,
        max_attempts: int = 10,
        poll: float = 0.2,
    ) -> None:
        self.store, self.budget, self.metrics = store, budget, metrics
        self.threads, self.settle, self.max_hold, self.lease = threads, settle, max_hold, lease
        self.max_attempts, self.poll = max_attempts, poll
        self.writers: dict[str, Writer] = {}
        self._stop = threading.Event()
        self._running: list[threading.Thread] = []

    def register(self, kind: str, writer: Writer) -> None:
        self.writers[kind] = writer

    def want(self, key: str, kind: str, body: dict[str, Any], rank: int) -> None:
        """GitHub should show `body` for target `key`: queue it, replacing a state not sent yet."""
        if self.store.want_write(key, kind, json.dumps(body, sort_keys=True), rank):
            self.metrics.coalesced.labels(kind).inc()

    def start(self) -> None:
        for n in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"connector-outbox-{n}", daemon=True)
            thread.start()
            self._running.append(thread)

    def stop(self, grace: float = 10.0) -> None:
        """Writes in flight end within their GitHub timeout; a claim left behind returns after the lease."""
        self._stop.set()
        deadline = time.monotonic() + grace
        for thread in self._running:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                pause = self.run_once()
            except Exception as exc:  # the store briefly away: keep the thread alive
                log.warning("outbox: %s", one_line(exc))
                pause = 1.0
            if pause:
                self._stop.wait(pause)

    def run_once(self) -> float:
        """Make the next due write; the seconds to pause before looking again (0: look at once)."""
        write = self.store.take_write(self.lease, self.settle, self.max_hold)
        if write is None:
            return self.poll
        return self._send(write)

    def _send(self, write: Write) -> float:
        writer = self.writers.get(write.kind)
        try:
            if writer is None:
                raise PermanentError(f"no writer for {write.kind}")
            writer(json.loads(write.body), lambda: self.budget.spend(write.rank))
        except BudgetWait as wait:  # spent: the row waits, and so does this thread (others are as short)
            self.store.write_later(write, min(wait.retry_after, 5.0), failed=False)
            self.metrics.budget_waits.labels(str(write.rank)).inc()
            return min(wait.retry_after, 1.0)
        except GitHubRateLimited as limited:  # GitHub's own count says wait: every replica does
            self.budget.pause(limited.retry_after)
            self.store.write_later(write, limited.retry_after, failed=False)
            self.metrics.rate_limited.inc()
            log.warning("outbox: %s; every write as this credential waits", limited)
            return min(limited.retry_after, 1.0)
        except PermanentError as refused:
            self._give_up(write, one_line(refused))
        except RetryableError as error:
            self._later(write, error, error.retry_after)
        except Exception as error:  # a bug or an unexpected answer: keep the write, try again later
            log.exception("outbox: writing %s failed", write.key)
            self._later(write, error, 0.0)
        else:
            self.store.wrote(write)
        return 0.0

    def _later(self, write: Write, error: Exception, asked: float) -> None:
        if write.attempts + 1 >= self.max_attempts:
            self._give_up(write, f"{one_line(error)} (after {write.attempts + 1} attempts)")
            return
        self.metrics.write_retries.labels(write.kind).inc()
        self.store.write_later(write, max(asked, min(300.0, 2.0**write.attempts)))

    def _give_up(self, write: Write, why: str) -> None:
        self.store.write_failed(write, why)
        self.metrics.writes_failed.labels(write.kind).inc()
        log.warning("outbox: %s not written, GitHub refused it: %s", write.key, why)
