"""One exception tree: every error fluxgate raises on purpose is documented, is either worth retrying or
not, and reads as one line; the connector's worker settles a delivery by that type alone."""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

import pytest

import fluxgate
from fluxgate import errors
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.store import Delivery, DeliveryState, Source, Store, sqlite_url
from fluxgate.connector.worker import Worker
from fluxgate.errors import FluxgateError, Ignored, PermanentError, RetryableError, one_line
from fluxgate.github import GitHubNotFound, GitHubUnavailable


def _every_error() -> set[type[FluxgateError]]:
    for module in pkgutil.walk_packages(fluxgate.__path__, "fluxgate."):
        importlib.import_module(module.name)
    found: set[type[FluxgateError]] = set()
    frontier: list[type[FluxgateError]] = [FluxgateError]
    while frontier:
        for sub in frontier.pop().__subclasses__():
            if sub.__module__.startswith("fluxgate.") and sub not in found:
                found.add(sub)
                frontier.append(sub)
    return found


def test_every_error_is_in_the_documented_tree_and_says_whether_to_retry() -> None:
    tree = errors.__doc__ or ""
    for error in _every_error() - {PermanentError, RetryableError}:
        where = f"{error.__module__}.{error.__name__}"
        assert f"── {error.__name__} " in tree, f"{where} is not in fluxgate.errors' tree"
        assert issubclass(error, PermanentError) != issubclass(error, RetryableError), error


@pytest.mark.parametrize(("value", "line"), [
    ("first\nsecond", "first"),
    ("\n\n  indented  \nnext", "indented"),
    (ValueError("bad\nvalue"), "bad"),
    (ValueError(), "ValueError"),
    (KeyError(), "KeyError"),
    ("", ""),
])
def test_one_line_is_the_first_line_or_the_errors_type(value: object, line: str) -> None:
    assert one_line(value) == line


def test_one_line_cuts_long_text_where_asked() -> None:
    assert one_line("x" * 200, 10) == "x" * 9 + "…"
    assert one_line("x" * 200) == "x" * 200


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store(sqlite_url(tmp_path))
    yield opened  # type: ignore[misc]
    opened.close()


def _settle(store: Store, raised: Exception | None) -> dict[str, object]:
    def handler(_delivery: Delivery) -> str:
        if raised is not None:
            raise raised
        return "did it"

    store.accept(Source.FLUX, "key", "Kustomization", json.dumps({"involvedObject": {}}).encode())
    worker = Worker(store, {Source.FLUX: handler}, Metrics(), threads=1, max_attempts=10, backoff=1.0)
    try:
        assert worker.run_once() == 1
    finally:
        worker.stop(grace=1)
    [row] = store.listing()
    return row


@pytest.mark.parametrize(("raised", "state", "attempts"), [
    (None, DeliveryState.DONE, 0),
    (Ignored("Kustomization flux-system/x: no environment and cluster match it"), DeliveryState.IGNORED, 0),
    # GitHub says no to this delivery as it stands: parked at once, listed, not retried nine more times
    (GitHubNotFound("GitHub create status on acme/x failed: 404"), DeliveryState.FAILED, 1),
    (GitHubUnavailable("GitHub create status on acme/x: 502 after retries", 30.0), DeliveryState.PENDING, 1),
    (RuntimeError("a bug"), DeliveryState.PENDING, 1),
])
def test_the_worker_settles_a_delivery_by_what_was_raised(
    store: Store, raised: Exception | None, state: DeliveryState, attempts: int
) -> None:
    row = _settle(store, raised)
    assert (row["state"], row["attempts"]) == (state, attempts)
    if raised is not None:
        assert row["note"] == one_line(raised)


def test_a_retryable_error_waits_as_long_as_it_asks(store: Store) -> None:
    _settle(store, GitHubUnavailable("rate limited; GitHub asks to wait 120 s", 120.0))
    assert store.claim() == []  # not due for two minutes, though the backoff alone is one second
