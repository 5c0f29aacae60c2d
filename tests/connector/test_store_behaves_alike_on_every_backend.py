"""SQLite (one replica) and PostgreSQL (several) keep the same things: what one stores, the other
stores; what neither can hold never reaches them; and no delivery the store cannot settle is left
claimed to come back forever."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from fluxgate.connector.flux_events import Outcome
from fluxgate.connector.metrics import Metrics
from fluxgate.connector.store import Delivery, DeliveryState, ObjectState, Source, Store, sqlite_url
from fluxgate.connector.worker import Worker
from fluxgate.errors import PermanentError, SettingsError

EKS = "arn:aws:eks:eu-west-1:123456789012:cluster/shop-production-eu-west-1"  # 68 characters


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    store = Store(url, lease=60)
    yield store
    store.close()


def _state(cluster: str, name: str = "shop") -> ObjectState:
    return ObjectState("shop", "prod", cluster, "Kustomization", "flux-system", name, "a" * 40,
                       Outcome.READY, "ReconciliationSucceeded", "Applied revision", 1.0)  # fmt: skip


def test_a_cluster_named_by_its_eks_arn_is_stored(store: Store) -> None:
    assert len(EKS) == 68
    assert store.record_object(_state(EKS), f"shop/prod/{EKS}/Kustomization/flux-system/shop")
    assert [s.cluster for s in store.objects_of("shop", "prod")] == [EKS]


def test_long_keys_stay_distinct(store: Store) -> None:
    common = "status:acme/shop-manifests:" + "a" * 40 + ":fluxgate/prod/" + "c" * 300
    store.record_effect(common + "/one", "success")
    store.record_effect(common + "/two", "failure")
    assert (store.effect_done(common + "/one"), store.effect_done(common + "/two")) == ("success", "failure")
    assert len(store.effects_with_prefix("status:acme/shop-manifests:")) == 2


def test_notes_with_text_no_backend_holds_are_cleaned(store: Store) -> None:
    store.accept(Source.FLUX, "k1", "Kustomization", b"{}")
    (delivery,) = store.claim()
    store.ignored(delivery.id, "Custom\x00Reason \ud800: ignored")
    (row,) = store.listing()
    assert row["state"] == DeliveryState.IGNORED and row["note"] == "Custom\\0Reason ?: ignored"


def _flux(name: str) -> bytes:
    return json.dumps({"involvedObject": {"kind": "Kustomization", "namespace": "ns", "name": name}}).encode()


def test_a_delivery_that_can_never_succeed_is_parked_at_once_and_delays_no_other(store: Store) -> None:
    for n in range(3):  # one object: one group, handled in order by one thread
        store.accept(Source.FLUX, f"k{n}", "Kustomization", _flux("shop"))
    calls: list[int] = []

    def handle(delivery: Delivery) -> str:
        calls.append(delivery.id)
        if delivery.id == 1:
            raise PermanentError("GitHub answered 422: No commit found for SHA")
        return "posted"

    worker = Worker(store, {Source.FLUX: handle}, Metrics(), threads=2, max_attempts=10)
    try:
        assert worker.run_once() == 3
    finally:
        worker.stop()
    assert calls == [1, 2, 3]
    rows = {row["id"]: row for row in store.listing()}
    assert rows[1]["state"] == DeliveryState.FAILED and rows[1]["attempts"] == 1
    assert rows[1]["note"] == "GitHub answered 422: No commit found for SHA"
    assert [rows[2]["state"], rows[3]["state"]] == [DeliveryState.DONE, DeliveryState.DONE]


def test_an_outcome_the_store_refuses_parks_the_delivery_instead_of_leaving_it_claimed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.accept(Source.FLUX, "k1", "Kustomization", _flux("a"))
    store.accept(Source.FLUX, "k2", "Kustomization", _flux("a"))
    refuse = store.done

    def done(delivery_id: int, note: str | None = None) -> None:
        if delivery_id == 1:
            raise sqlalchemy.exc.DataError("UPDATE", {}, ValueError("invalid byte sequence"))
        refuse(delivery_id, note)

    monkeypatch.setattr(store, "done", done)
    worker = Worker(store, {Source.FLUX: lambda d: "ok"}, Metrics(), threads=1)
    try:
        worker.run_once()
    finally:
        worker.stop()
    rows = {row["id"]: row for row in store.listing()}
    assert rows[1]["state"] == DeliveryState.FAILED
    assert rows[1]["note"].startswith("could not record its outcome: ")
    assert rows[2]["state"] == DeliveryState.DONE
    assert store.claim() == []  # nothing comes back


def test_an_older_postgresql_store_is_widened(postgres_url: str) -> None:
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.begin() as conn:  # the objects table as the first release created it
        conn.execute(sqlalchemy.text(
            "CREATE TABLE objects (key VARCHAR(255) PRIMARY KEY, app VARCHAR(64) NOT NULL, "
            "env VARCHAR(64) NOT NULL, cluster VARCHAR(64) NOT NULL, kind VARCHAR(64) NOT NULL, "
            "namespace VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, revision VARCHAR(64), "
            "outcome VARCHAR(16) NOT NULL, reason VARCHAR(64) NOT NULL, message TEXT NOT NULL, "
            "event_time FLOAT NOT NULL)"
        ))  # fmt: skip
    engine.dispose()
    store = Store(postgres_url)
    try:
        assert store.record_object(_state(EKS), "shop/prod/eks/Kustomization/flux-system/shop")
        assert [s.cluster for s in store.objects_of("shop", "prod")] == [EKS]
    finally:
        store.close()


def test_a_silent_workers_claims_are_handed_back_and_a_live_ones_are_not(store: Store) -> None:
    """Heartbeats: a worker that stopped beating `stale_after` ago is dead, whatever its lease says."""
    dead = Store(store.url, lease=600, worker_id="deadbeef0001")
    live = Store(store.url, lease=600, worker_id="cafe00000002")
    try:
        for n in range(4):
            store.accept(Source.FLUX, f"k{n}", "Kustomization", _flux(f"o{n}"))
        dead.beat()
        live.beat()
        taken = dead.claim(limit=2)
        kept = live.claim(limit=2)
        assert len(taken) == len(kept) == 2
        assert dead.claim_effect("status:x", "deadbeef0001:1", lease=600) is not None
        time.sleep(1.3)
        live.beat()  # the live one goes on beating; the dead one does not
        assert store.release_orphans(stale_after=1.0) == ["deadbeef0001"]
        assert {d.id for d in store.claim()} == {d.id for d in taken}  # the dead one's, now
        claim = store.claim_effect("status:x", "another:1", lease=600)
        assert claim is not None and claim.unknown  # the call may have been made: look first
        assert store.release_orphans(stale_after=1.0) == []  # the dead one is gone from the list
    finally:
        dead.close()
        live.close()


def test_the_sandbox_makes_and_drops_databases_for_prefect_and_the_connector(postgres_server: str) -> None:
    """`fluxgate demo --postgres URL` (and Prefect's HA shape) run on databases made like this."""
    import uuid

    from fluxgate.connector.store import create_database, drop_database
    from fluxgate.sandbox.prefect_server import server_env

    name = f"fluxgate_{uuid.uuid4().hex[:12]}"
    url = create_database(postgres_server, name)
    try:
        assert url.endswith(f"/{name}") and url.startswith("postgresql+psycopg://")
        store = Store(url)
        store.accept(Source.FLUX, "k", "Kustomization", _flux("a"))
        assert store.listing()[0]["state"] == DeliveryState.PENDING
        store.close()
        prefect = server_env(Path("/tmp/x"), url)["PREFECT_API_DATABASE_CONNECTION_URL"]
        assert prefect.startswith("postgresql+asyncpg://") and prefect.endswith(f"/{name}")
    finally:
        drop_database(postgres_server, name)
    with pytest.raises(SettingsError, match=rf"cannot create database {name}_x on postgresql"):
        create_database(postgres_server.replace(":5432", ":1"), f"{name}_x")
