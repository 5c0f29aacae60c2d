"""An emulated GitHub of a test's own with secondary rate limits and a clock the test moves, so a
window of a minute or an hour slides without waiting for it (the session's emulator has no limits)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from fluxgate.sandbox.github import RunningEmulator, start_in_thread
from tests.conftest import TOKEN

REPO = "acme/limited"
OTHER_TOKEN = "ghp_other0000000000000000000000000000"


class Clock:
    """What the emulator's rate limits read as `time.time()`; `advance` moves it on."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def limited_github(data: Path, clock: Clock | None = None, **options: object) -> Iterator[RunningEmulator]:
    """A running emulator with `options` (e.g. `secondary_limits`), tokens `TOKEN` (bot) and
    `OTHER_TOKEN` (alice), and the repository `REPO`."""
    running = start_in_thread(data, clock=clock, **options)
    try:
        running.emulator.add_token(TOKEN, "fluxgate-bot")
        running.emulator.add_token(OTHER_TOKEN, "alice")
        running.emulator.create_repo(REPO)
        yield running
    finally:
        running.stop()


def post_status(
    http: httpx.Client, github: RunningEmulator, token: str = TOKEN, n: int = 0
) -> httpx.Response:
    """One content-creating request: a commit status on the head of `REPO`."""
    sha = github.emulator.head(REPO)
    return http.post(
        f"{github.url}/repos/{REPO}/statuses/{sha}",
        json={"state": "success", "context": f"ci/{n}"},
        headers={"Authorization": f"token {token}"},
    )
