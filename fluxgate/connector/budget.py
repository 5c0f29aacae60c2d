"""GitHub's write limits, kept by the connector rather than learned from refusals.

GitHub allows one user or App installation about 80 content-creating requests a minute and 500 an
hour (its "secondary rate limits": commit statuses, Deployments and their statuses all count), and
answers 403/429 with `Retry-After` beyond that. A connector that posts first and backs off after
would spend minutes refused while a burst drains, its verdicts queued behind progress reports. So
every write the connector makes first takes a token from `WriteBudget`:

- the windows (writes per seconds) are settings, GitHub's documented ones by default, and are kept
  in the store, so every replica acting as the same credential spends from one budget;
- a write of low rank may use only part of each window (`SHARES`): progress and wording wait while
  verdicts still find room;
- when GitHub asks to wait anyway (a limit shared with other tools using the same token), `pause`
  stops every replica's writes as that credential for as long as asked.
"""

from __future__ import annotations

import hashlib

from fluxgate.connector.store import Store
from fluxgate.errors import RetryableError
from fluxgate.github import GitHubSettings
from fluxgate.github.limits import SECONDARY_LIMITS

__all__ = ["GITHUB_LIMITS", "SHARES", "BudgetWait", "WriteBudget", "credential_id", "parse_limits"]

GITHUB_LIMITS = SECONDARY_LIMITS
# Rank 0: a verdict (success, failure); 1: progress (pending, in progress); 2: new wording, same state.
SHARES = {0: 1.0, 1: 0.75, 2: 0.5}


class BudgetWait(RetryableError):
    """No write left in the budget for this rank: try again after `retry_after` seconds."""


def credential_id(settings: GitHubSettings) -> str:
    """Whom GitHub counts writes against, without the secret: a token's hash, or the installation."""
    if settings.token is not None:
        return "token:" + hashlib.sha256(settings.token.get_secret_value().encode()).hexdigest()[:16]
    return f"app:{settings.app_id}:{settings.installation_id}"


def parse_limits(text: str) -> tuple[tuple[int, float], ...]:
    """`80/60,500/3600` (writes/seconds, comma separated) as windows; ValueError saying what is wrong."""
    windows = []
    for part in text.split(","):
        count, slash, seconds = part.strip().partition("/")
        try:
            window = (int(count), float(seconds))
        except ValueError:
            window = (0, 0.0)
        if not slash or window[0] < 1 or window[1] <= 0:
            raise ValueError(f"{part.strip()!r} is not WRITES/SECONDS, e.g. 80/60,500/3600")
        windows.append(window)
    return tuple(windows)


class WriteBudget:
    def __init__(self, store: Store, credential: str, limits: tuple[tuple[int, float], ...] = GITHUB_LIMITS):
        self.store, self.credential, self.limits = store, credential, limits

    def spend(self, rank: int) -> None:
        """Take one write for a change of `rank`, or raise `BudgetWait` saying how long until one is free."""
        wait = self.store.spend_write(self.credential, list(self.limits), SHARES.get(rank, SHARES[2]))
        if wait > 0:
            raise BudgetWait(f"GitHub write budget spent for rank {rank}; free in {wait:.1f} s", wait)

    def pause(self, seconds: float) -> None:
        self.store.pause_writes(self.credential, seconds)

    def remaining(self) -> dict[float, int]:
        """Per window (seconds), the writes still allowed in it now."""
        used = {window: self.store.writes_in(self.credential, window) for _, window in self.limits}
        return {window: max(0, count - used[window]) for count, window in self.limits}
