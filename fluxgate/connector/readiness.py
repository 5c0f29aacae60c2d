"""What `/readyz` asks besides the store: can the connector reach what every delivery needs?

Each check answers `(name, ok, problem)`; the app lists every problem, and is ready only when every
check is ok. A dependency whose outage only delays deliveries (GitHub down: they wait in the inbox)
is reported without making the connector unready.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import httpx

from fluxgate.connector.settings import ConnectorSettings
from fluxgate.errors import PermanentError, RetryableError, one_line
from fluxgate.github import GitHubGateway

__all__ = ["CHECK_NAMES", "Check", "GitHubAccess", "prefect_reachable"]

Check = Callable[[], tuple[str, bool, str | None]]
# Every check `/readyz` may report (which ones run depends on the settings); `?exclude=` takes these.
CHECK_NAMES = ("store", "github", "processing", "prefect")


def prefect_reachable() -> tuple[str, bool, str | None]:
    """`/readyz`: resumes need the Prefect API (its `/health` answers without auth)."""
    url = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    try:
        ok = httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError as error:
        return "prefect", False, f"{url}: {one_line(error)}"
    return "prefect", ok, None if ok else f"{url}/health did not answer 200"


class GitHubAccess:
    """`/readyz`: every delivery needs GitHub, so credentials that are missing or refused make the
    connector unready, with the reason. Checked at most once a minute (`GET /rate_limit` is free);
    GitHub being unreachable is reported but keeps it ready: deliveries are kept and retried."""

    def __init__(self, settings: ConnectorSettings, every: float = 60.0) -> None:
        self.settings, self.every = settings, every
        self._gateway: GitHubGateway | None = None
        self._last: tuple[float, tuple[str, bool, str | None]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, bool, str | None]:
        github = self.settings.github
        if github is None:
            return (
                "github",
                False,
                "no GitHub access configured: set FLUXGATE_GITHUB__TOKEN or the App settings",
            )
        with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self.every:
                return self._last[1]
            if self._gateway is None:
                self._gateway = GitHubGateway(github.model_copy(update={"retries": 0, "timeout": 5}))
            try:
                self._gateway.check_access()
                answer: tuple[str, bool, str | None] = ("github", True, None)
            except PermanentError as error:
                answer = ("github", False, f"{github.api_url} refused the credentials: {one_line(error)}")
            except RetryableError as error:
                answer = (
                    "github",
                    True,
                    f"{github.api_url} unreachable (deliveries wait): {one_line(error)}",
                )
            self._last = (time.monotonic(), answer)
            return answer
