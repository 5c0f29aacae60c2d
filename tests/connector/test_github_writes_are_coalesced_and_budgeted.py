"""GitHub writes wait in the store's outbox: a newer state of the same target replaces one not sent
yet (never a state of another commit), verdicts go first, and every replica spends from one write
budget per credential, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fluxgate.connector.budget import BudgetWait, WriteBudget, parse_limits
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.outbox import Outbox, Spend
from fluxgate.connector.store import Store, sqlite_url
from fluxgate.errors import PermanentError
from fluxgate.github import GitHubRateLimited

SHA1, SHA2 = "1" * 40, "2" * 40


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return sqlite_url(tmp_path) if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    store = Store(url, lease=60)
    yield store
    store.close()


def _status(state: str, description: str = "") -> str:
    return json.dumps({"state": state, "description": description})


def _taken(store: Store) -> list[tuple[str, dict[str, Any]]]:
    """Every write due now, in the order the outbox hands them out (each marked written)."""
    out = []
    while (write := store.take_write(lease=60, settle=0, max_hold=0)) is not None:
        out.append((write.key, json.loads(write.body)))
        store.wrote(write)
    return out


def test_a_newer_state_replaces_one_not_sent_and_commits_never_merge(store: Store) -> None:
    assert not store.want_write(f"status:r:{SHA1}:fluxgate/dev/dev-eu", "status", _status("pending"), 1)
    assert store.want_write(f"status:r:{SHA1}:fluxgate/dev/dev-eu", "status", _status("success"), 0)
    assert not store.want_write(f"status:r:{SHA2}:fluxgate/dev/dev-eu", "status", _status("pending"), 1)
    assert _taken(store) == [
        (f"status:r:{SHA1}:fluxgate/dev/dev-eu", {"state": "success", "description": ""}),
        (f"status:r:{SHA2}:fluxgate/dev/dev-eu", {"state": "pending", "description": ""}),
    ]
    assert store.outbox_counts() == {"failed": 0}


def test_verdicts_go_before_progress_and_wording(store: Store) -> None:
    store.want_write("a", "status", _status("success", "All 3 ready"), 2)
    store.want_write("b", "status", _status("pending"), 1)
    store.want_write("c", "status", _status("failure"), 0)
    assert [key for key, _ in _taken(store)] == ["c", "b", "a"]


def test_a_target_still_changing_waits_until_it_is_quiet_or_held_too_long(store: Store) -> None:
    store.want_write("a", "status", _status("pending", "1 of 2 ready"), 1)
    assert store.take_write(lease=60, settle=30, max_hold=30) is None  # just changed: wait for more
    write = store.take_write(lease=60, settle=30, max_hold=0)  # wanted "long" enough ago: send it
    assert write is not None and json.loads(write.body)["description"] == "1 of 2 ready"


def test_a_state_replaced_while_it_was_being_sent_is_sent_after_it(store: Store) -> None:
    store.want_write("a", "status", _status("pending"), 1)
    sending = store.take_write(lease=60, settle=0, max_hold=0)
    assert sending is not None
    assert store.take_write(lease=60, settle=0, max_hold=0) is None  # claimed: nobody else sends it
    store.want_write("a", "status", _status("success"), 0)
    store.wrote(sending)
    assert _taken(store) == [("a", {"state": "success", "description": ""})]


def test_the_budget_holds_every_replica_to_githubs_windows(url: str) -> None:
    one, two = Store(url), Store(url)  # two replicas, one credential
    try:
        for n in range(10):
            assert (one if n % 2 else two).spend_write("token:x", [(10, 60.0)]) == 0.0
        wait = one.spend_write("token:x", [(10, 60.0)])
        assert 60.0 < wait <= 61.0  # free once the oldest of the ten leaves the minute (and its margin)
        assert two.spend_write("token:other", [(10, 60.0)]) == 0.0  # another credential counts alone
    finally:
        one.close()
        two.close()


def test_progress_leaves_room_for_verdicts_and_githubs_pause_stops_everyone(store: Store) -> None:
    limits = [(8, 60.0)]
    assert [store.spend_write("t", limits, share=0.5) for _ in range(4)] == [0.0] * 4
    assert store.spend_write("t", limits, share=0.5) > 0  # progress: half the window at most
    assert store.spend_write("t", limits, share=1.0) == 0.0  # a verdict still goes
    store.pause_writes("t", 30)
    assert 29 < store.spend_write("t", limits, share=1.0) <= 30
    store.pause_writes("t", 5)  # a shorter ask never shortens a pause
    assert store.spend_write("t", limits, share=1.0) > 29


class _GitHub:
    """A writer standing in for GitHub: answers from a script, records what it was sent."""

    def __init__(self, answers: list[Exception | None]) -> None:
        self.answers, self.sent = answers, []  # type: list[Exception | None], list[dict[str, Any]]

    def __call__(self, body: dict[str, Any], spend: Spend) -> None:
        spend()
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        self.sent.append(body)


def _outbox(store: Store, writer: _GitHub, limits: str = "100/60") -> Outbox:
    budget = WriteBudget(store, "token:x", parse_limits(limits))
    outbox = Outbox(store, budget, Metrics(), settle=0, max_hold=0)
    outbox.register("status", writer)
    return outbox


def test_a_write_github_refuses_for_good_is_kept_and_a_newer_state_is_still_sent(store: Store) -> None:
    github = _GitHub([PermanentError("422 description is too long")])
    outbox = _outbox(store, github)
    outbox.want("a", "status", {"state": "failure"}, 0)
    outbox.run_once()
    assert store.outbox_counts() == {"failed": 1} and github.sent == []
    outbox.want("a", "status", {"state": "success"}, 0)
    outbox.run_once()
    assert github.sent == [{"state": "success"}] and store.outbox_counts() == {"failed": 0}


def test_when_github_says_wait_every_write_as_that_credential_waits(store: Store) -> None:
    github = _GitHub([GitHubRateLimited("secondary rate limit", 40.0)])
    outbox = _outbox(store, github)
    outbox.want("a", "status", {"state": "success"}, 0)
    outbox.want("b", "status", {"state": "success"}, 0)
    outbox.run_once()
    outbox.run_once()
    assert github.sent == []  # b was not even tried: the credential is paused
    assert store.outbox_counts() == {"0": 2, "failed": 0}
    with pytest.raises(BudgetWait) as waiting:
        outbox.budget.spend(0)
    assert 39 < waiting.value.retry_after <= 40


def test_a_spent_budget_puts_progress_off_but_not_verdicts(store: Store) -> None:
    github = _GitHub([])
    outbox = _outbox(store, github, limits="4/60")
    for n in range(3):
        outbox.want(f"p{n}", "status", {"state": "pending", "n": n}, 1)
    for _ in range(3):
        outbox.run_once()
    assert [b["n"] for b in github.sent] == [0, 1, 2]  # 3 of 4: progress may use 75%
    outbox.want("p3", "status", {"state": "pending", "n": 3}, 1)
    outbox.want("v", "status", {"state": "failure"}, 0)
    started = time.monotonic()
    outbox.run_once()
    outbox.run_once()
    assert github.sent[3:] == [{"state": "failure"}]  # the verdict took the last write
    assert store.outbox_counts() == {"1": 1, "failed": 0}
    assert time.monotonic() - started < 5


def test_limits_are_read_as_writes_per_seconds() -> None:
    assert parse_limits("80/60, 500/3600") == ((80, 60.0), (500, 3600.0))
    for bad in ("80", "0/60", "80/0", "x/60", "80/60,"):
        with pytest.raises(ValueError, match="WRITES/SECONDS"):
            parse_limits(bad)


def test_old_reports_and_old_refused_writes_are_pruned(store: Store) -> None:
    from fluxgate.connector.flux_events import Outcome
    from fluxgate.connector.store import ObjectState

    state = ObjectState("shop", "dev", "dev-eu", "Kustomization", "flux-system", "shop", SHA1, Outcome.READY,
                        "ReconciliationSucceeded", "Applied", 1.0)  # fmt: skip
    store.record_report(state, "shop/dev/dev-eu/Kustomization/flux-system/shop")
    store.want_write("refused", "status", _status("success"), 0)
    write = store.take_write(lease=60, settle=0, max_hold=0)
    assert write is not None
    store.write_failed(write, "422 no commit found for SHA")
    store.want_write("waiting", "status", _status("pending"), 1)
    assert store.prune_reports(older_than=3600) == 0  # all recent: nothing goes
    assert store.prune_reports(older_than=-1) == 1  # all "old": the report and the refused write go
    assert store.reports_at("shop", "dev", "dev-eu", SHA1) == []
    assert store.outbox_counts() == {"1": 1, "failed": 0}  # a write still to make is never pruned


def test_waiting_for_the_budget_never_uses_up_a_writes_attempts(store: Store) -> None:
    import sqlalchemy

    from fluxgate.connector.store import outbox as table

    github = _GitHub([GitHubRateLimited("secondary rate limit", 30.0)])
    outbox = _outbox(store, github, limits="1/60")
    outbox.want("spent", "status", {"state": "success"}, 0)
    outbox.run_once()  # GitHub says wait: every write as this credential waits
    outbox.want("a", "status", {"state": "failure"}, 0)
    outbox.run_once()  # the budget is paused: "a" waits too
    with store.engine.connect() as conn:
        attempts = dict(conn.execute(sqlalchemy.select(table.c.key, table.c.attempts)).all())
    assert attempts == {"spent": 0, "a": 0}  # neither counts as a failed attempt
