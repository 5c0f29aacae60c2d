"""Side effects on GitHub made effectively once: across worker threads, replicas and crashes.

A delivery is processed at least once (a crash between a GitHub call and the record of it means
the delivery is processed again), so every effect is keyed (`keys`) and goes through `Effects.once`:

1. the effect is already recorded as wanted: nothing to do;
2. claim the key (a row in the store's `claims` table): one thread of one replica makes the call,
   the others wait for its record and find the effect done;
3. a claim whose holder vanished (a crash, a call that ended without a clear answer) means the
   outcome is unknown: `look` asks GitHub whether the effect is there (a Deployment of that commit
   to that environment, the latest status of that context) and records what it finds;
4. otherwise make the call, and record its result and release the claim in one transaction.

An effect GitHub cannot be asked about (`repository_dispatch`) is not repeated when its outcome is
unknown: at most once, and the log says so. A POST is sent once (`sent_once`): the gateway's own
retry of a 502 would be a repeat nobody looked for; the delivery's retry looks first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from fluxgate.connector.store import Claim, Store
from fluxgate.errors import PermanentError, RetryableError
from fluxgate.github import sent_once

__all__ = ["EffectBusy", "Effects"]

log = logging.getLogger(__name__)


class EffectBusy(RetryableError):
    """Another worker is making the same effect and has not recorded it yet: try the delivery later."""


class Effects:
    def __init__(self, store: Store, lease: float = 120.0, wait: float = 10.0) -> None:
        self.store, self.lease, self.wait = store, lease, wait

    def _owner(self) -> str:
        """This thread of this worker: the worker id first, so a restarted process finds its own."""
        return f"{self.store.worker_id}:{threading.get_ident()}"

    def once(
        self,
        key: str,
        done: Callable[[str | None], bool],
        act: Callable[[], str],
        look: Callable[[], str | None] | None,
        spend: Callable[[], None] | None = None,
    ) -> tuple[str, bool]:
        """The effect's recorded value, and whether this call made the effect.

        `done(recorded)` says whether the recorded value is the effect wanted; `act()` makes it and
        returns the value to record; `look()` finds it at GitHub after an unknown outcome (None: not
        there). Without `look`, an unknown outcome counts as done. `spend()` is called once, when the
        effect is not recorded yet: the write budget (it raises when none is left)."""
        deadline = time.monotonic() + self.wait
        pause = 0.02
        while True:
            recorded = self.store.effect_done(key)
            if done(recorded):
                return recorded or "", False
            if spend is not None:
                spend()
                spend = None
            claim = self.store.claim_effect(key, self._owner(), self.lease)
            if claim is not None:
                return self._holding(claim, done, act, look)
            if time.monotonic() > deadline:
                raise EffectBusy(f"{key}: another worker is making this change", retry_after=1.0)
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def _holding(
        self,
        claim: Claim,
        done: Callable[[str | None], bool],
        act: Callable[[], str],
        look: Callable[[], str | None] | None,
    ) -> tuple[str, bool]:
        try:
            recorded = self.store.effect_done(claim.key)  # the previous holder may have just finished
            if done(recorded):
                self.store.finish_effect(claim, None)
                return recorded or "", False
            if claim.unknown and (found := self._made_before(claim.key, recorded, done, look)) is not None:
                self.store.finish_effect(claim, found)
                return found, False
            with sent_once():  # a retry inside the call would be a repeat nobody looked for
                value = act()
        except PermanentError:  # GitHub answered and refused: nothing was done
            self.store.finish_effect(claim, None)
            raise
        except BaseException:  # no clear answer (a timeout, a 5xx, a crash): maybe done
            self.store.abandon_effect(claim)
            raise
        self.store.finish_effect(claim, value)
        return value, True

    @staticmethod
    def _made_before(
        key: str,
        recorded: str | None,
        done: Callable[[str | None], bool],
        look: Callable[[], str | None] | None,
    ) -> str | None:
        """After an unknown outcome, the value to record when the change is already made (None: make
        it). What GitHub cannot be asked about counts as made: at most once."""
        if look is None:
            log.warning("%s: outcome unknown after a crash; not repeated", key)
            return recorded or "unknown"
        found = look()
        return found if found is not None and done(found) else None
