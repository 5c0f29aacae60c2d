"""Group commit for the inbox: many concurrent requests, one transaction.

Every request waits for its delivery to be on disk before answering; doing that one transaction
per request caps a connector at a few thousand events per second and queues requests behind each
other's commits. `Intake` collects the deliveries that arrive while the previous commit runs and
stores them together, so the cost of a commit is shared by everyone waiting on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from fluxgate.connector.store import Source, Store

__all__ = ["Intake", "Item"]

Item = tuple[Source, str, str, bytes]  # source, dedupe key, kind, body


class Intake:
    def __init__(
        self, store: Store, on_stored: Callable[[], None] | None = None, max_batch: int = 512
    ) -> None:
        self.store, self.on_stored, self.max_batch = store, on_stored, max_batch
        self._waiting: list[tuple[Item, asyncio.Future[bool]]] = []
        self._flushing = False

    async def accept(self, item: Item) -> bool:
        """True when the delivery is new, False for a duplicate; returns once it is committed."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
                try:
                    results = await run_in_threadpool(self.store.accept_many, [item for item, _ in batch])
                except Exception as error:  # the store is down: every waiter answers 5xx, nothing is lost
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), fresh in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(fresh)
                if self.on_stored is not None and any(results):
                    self.on_stored()
        finally:
            self._flushing = False
