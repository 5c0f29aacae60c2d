"""The CLI's way to Prefect: a client once the server answers, and links to runs in its UI.

Every failure to reach the server or find the deployment is one line naming the URL or the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from fluxgate.errors import ConfigError

__all__ = ["prefect_client", "run_url"]


def _api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ConfigError(
            "PREFECT_API_URL is not set: point it at your Prefect server, e.g. http://HOST:4200/api"
        )
    return str(url).rstrip("/")


@contextmanager
def prefect_client() -> Iterator[Any]:
    """A sync Prefect client, after checking that the server answers (one line if it does not)."""
    from prefect.client.orchestration import get_client

    url = _api_url()
    try:
        healthy = httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.HTTPError as error:
        raise ConfigError(f"Prefect server unreachable at {url}: {type(error).__name__}") from None
    if not healthy:
        raise ConfigError(f"Prefect server at {url} is not healthy (GET /health)")
    with get_client(sync_client=True) as client:
        yield client


def run_url(run_id: Any) -> str:
    from prefect.settings import PREFECT_UI_URL

    base = str(PREFECT_UI_URL.value() or _api_url().removesuffix("/api")).rstrip("/")
    return f"{base}/runs/flow-run/{run_id}"
