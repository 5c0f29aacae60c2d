"""The connector's durable store. Its inbox guarantees every accepted delivery is on disk before the
sender gets its 2xx.

Flux never persists or re-sends notifications, and GitHub re-sends only by hand, so an event the
connector acknowledged and then lost is gone for good. `Store.accept` stores the raw body with a
dedupe key (GitHub's `X-GitHub-Delivery`, or a Flux event's fingerprint) in one short transaction;
workers `claim` batches with a lease, so a crashed worker's claims come back after the lease, and
mark each delivery done, ignored, or failed-with-backoff.

The same code runs on SQLite (default: one WAL file under the data dir, one replica) and
PostgreSQL (by URL, several replicas: claims use `FOR UPDATE SKIP LOCKED`, so two replicas never
take the same delivery). Side effects are recorded in `effects` by key, so a delivery processed
again after a crash skips what already succeeded; `objects` keeps the last state each Flux object
reported, which is what readiness of an environment is computed from.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
)

from fluxgate.connector.flux_events import Outcome
from fluxgate.errors import SettingsError

__all__ = [
    "Claim",
    "Delivery",
    "DeliveryState",
    "ObjectState",
    "Source",
    "Store",
    "Write",
    "clean_text",
    "create_database",
    "describe_store",
    "drop_database",
    "fit_key",
    "sqlite_url",
]


class Source(StrEnum):
    """Who sent a delivery."""

    FLUX = "flux"
    GITHUB = "github"


class DeliveryState(StrEnum):
    """A delivery's life: pending until processed, then done, ignored (with why) or failed (parked
    after a permanent error or too many attempts; kept and listed, never dropped)."""

    PENDING = "pending"
    DONE = "done"
    IGNORED = "ignored"
    FAILED = "failed"


metadata = MetaData()

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False),  # Source
    Column("dedupe_key", String(128), nullable=False, unique=True),
    Column("kind", String(64), nullable=False),  # the GitHub event or Flux object kind
    Column("body", LargeBinary, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("state", String(16), nullable=False, index=True),  # DeliveryState
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", Float),
    Column("note", Text),  # why it was ignored, or the last error
)

effects = Table(
    "effects",
    metadata,
    Column("key", String(255), primary_key=True),  # e.g. status:<repo>:<sha>:<context>:<state>
    Column("value", Text),
    Column("at", Float, nullable=False),
)


# A side effect in flight: who is making the call, and until when the claim holds. One row per effect
# key serialises the effect across threads and replicas; a row left behind by a crash means "the
# outcome is unknown": whoever takes it over looks at GitHub before acting again.
claims = Table(
    "claims",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("until", Float, nullable=False),
)


# The workers (replicas' processing processes) alive, by their last heartbeat: a replica killed with
# `kill -9` (or its machine lost) stops beating, and the others hand its claims back after
# `stale_after` seconds instead of waiting out the whole lease.
workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seen_at", Float, nullable=False),
)


objects = Table(
    "objects",
    metadata,
    # Text, not VARCHAR(n): SQLite ignores lengths, so a limit would hold on one backend only (a
    # cluster named by its 68-character EKS ARN). What no backend holds is refused at intake.
    Column("key", String(255), primary_key=True),  # app/env/cluster/kind/namespace/name, fitted
    Column("app", Text, nullable=False, index=True),
    Column("env", Text, nullable=False),
    Column("cluster", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("revision", Text),
    Column("outcome", String(16), nullable=False),  # Outcome (never IGNORED)
    Column("reason", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("event_time", Float, nullable=False),
)


# Every object's newest report at each revision: what a commit's status for one cluster is made of.
# `objects` keeps only the latest revision, so a commit that one object has already moved past would
# lose that object's verdict (a failure, say) there.
reports = Table(
    "reports",
    metadata,
    Column("key", String(255), primary_key=True),  # app/env/cluster/kind/namespace/name@sha, fitted
    Column("app", Text, nullable=False),
    Column("env", Text, nullable=False),
    Column("cluster", Text, nullable=False),
    Column("revision", String(64), nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("event_time", Float, nullable=False),
    Column("at", Float, nullable=False, index=True),  # when it was stored: old reports are pruned by it
)


# GitHub writes wanted and not yet made, one row per target (a commit status of one sha and context, a
# Deployment): a newer state replaces the row's body, so a burst of events costs one write per target,
# the newest. `rank` orders them when the write budget is short (0 verdicts, 1 progress, 2 wording).
outbox = Table(
    "outbox",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("first_wanted", Float, nullable=False),
    Column("wanted_at", Float, nullable=False),
    Column("not_before", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_by", String(64)),
    Column("claimed_until", Float),
    Column("failed", Text),  # why GitHub refused it for good; kept (and counted), not sent again
)


# The content-creating writes made per GitHub credential, for the budget every replica shares
# (GitHub's secondary limits count per user or installation), and a pause GitHub itself asked for.
writes = Table(
    "writes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("credential", String(64), nullable=False, index=True),
    Column("at", Float, nullable=False, index=True),
)
budgets = Table(
    "budgets",
    metadata,
    Column("credential", String(64), primary_key=True),
    Column("paused_until", Float, nullable=False),
)


@dataclass(frozen=True)
class Write:
    """A GitHub write taken from the outbox: `version` says which body was sent."""

    key: str
    kind: str
    body: str
    rank: int
    version: int
    attempts: int


_WIDENED = ("app", "env", "cluster", "kind", "namespace", "name", "revision", "reason")


def _widen_objects(engine: Engine) -> None:
    """Stores created before these columns were Text hold them as VARCHAR on PostgreSQL: widen them
    (a catalog change, no table rewrite). SQLite never enforced the lengths."""
    if engine.dialect.name != "postgresql":
        return
    from sqlalchemy import inspect, text

    narrow = [
        column["name"]
        for column in inspect(engine).get_columns("objects")
        if column["name"] in _WIDENED and getattr(column["type"], "length", None) is not None
    ]
    if narrow:
        with engine.begin() as conn:
            for name in narrow:
                conn.execute(text(f'ALTER TABLE objects ALTER COLUMN "{name}" TYPE TEXT'))


def fit_key(key: str) -> str:
    """A key that fits the 255-character key columns, unique still: a long key keeps its first 190
    characters (prefix searches still find it) and ends with the SHA-256 of the whole."""
    if len(key) <= 255:
        return key
    return f"{key[:190]}#{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"


def clean_text(text: str, limit: int | None = None) -> str:
    """Text every backend stores: no NUL (PostgreSQL refuses it), no lone surrogate (not UTF-8)."""
    text = text.replace("\x00", "\\0").encode("utf-8", "replace").decode("utf-8")
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _create_tables(engine: Engine, attempts: int = 5) -> None:
    """`CREATE TABLE IF NOT EXISTS` races between replicas starting together on an empty PostgreSQL
    (both see no table, one create fails on the catalog's unique index): the loser looks again."""
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            _widen_objects(engine)
            return
        except (IntegrityError, ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@dataclass(frozen=True)
class ObjectState:
    app: str
    env: str
    cluster: str
    kind: str
    namespace: str
    name: str
    revision: str | None
    outcome: Outcome
    reason: str
    message: str
    event_time: float


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'connector.db'}"


def describe_store(url: str) -> str:
    """Where a store is, for people: `sqlite <path>` or `postgresql <host>:<port>/<db>`, never a password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite {parsed.database}"
    return f"{parsed.get_backend_name()} {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"


@dataclass(frozen=True)
class Claim:
    """A held claim on an effect key; `unknown`: a previous holder may have made the call."""

    key: str
    owner: str
    unknown: bool


@dataclass(frozen=True)
class Delivery:
    id: int
    source: Source
    kind: str
    body: bytes
    received_at: float
    attempts: int


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        if busy_timeout_ms == 0:  # the intake: leave WAL checkpoints (and their fsyncs) to the worker
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    return apply


def _engine(url: str) -> Engine:
    """The SQLAlchemy engine, or one line naming the setting when the URL or its driver is wrong."""
    try:
        parsed = make_url(url)
        engine = create_engine(parsed, pool_pre_ping=True)
    except ModuleNotFoundError as missing:
        driver = f"{parsed.get_backend_name()}+{parsed.get_driver_name()}"
        raise SettingsError(
            f"FLUXGATE_DATABASE_URL: {driver} needs the {missing.name} module, which is not installed: "
            "pip install 'fluxgate[postgres]' and use postgresql+psycopg://"
        ) from None
    except (NoSuchModuleError, ArgumentError) as wrong:
        scheme = url.partition("://")[0] if "://" in url else "(no scheme)"
        raise SettingsError(
            f"FLUXGATE_DATABASE_URL: {scheme!r} is not a database URL fluxgate can use "
            f"({type(wrong).__name__}); e.g. postgresql+psycopg://user:password@host:5432/fluxgate"
        ) from None
    if engine.dialect.is_async:
        engine.dispose()
        raise SettingsError(
            f"FLUXGATE_DATABASE_URL: {parsed.get_backend_name()}+{parsed.get_driver_name()} is an asyncio "
            "driver; the connector's store needs postgresql+psycopg://"
        )
    return engine


def check_url(url: str) -> None:
    """Fail fast, before the connector's slow start-up: the same one-line errors `Store` gives for a
    URL it cannot use (form, driver) or a server it cannot reach or log into."""
    engine = _engine(url)
    try:
        if engine.dialect.name != "sqlite":  # a new SQLite file is made by the store itself
            with engine.connect():
                pass
    except OperationalError as exc:
        where = describe_store(url)
        raise SettingsError(f"FLUXGATE_DATABASE_URL: cannot use {where}: {_said(exc, url)}") from None
    finally:
        engine.dispose()


def _said(exc: DBAPIError, url: str) -> str:
    """The driver's words, on one line, with the URL's password masked."""
    said = " ".join(str(exc.orig or exc).split())
    password = make_url(url).password
    return (said.replace(str(password), "***") if password else said)[:300]


class Store:
    def __init__(
        self, url: str, lease: float = 60.0, eager: bool = False, worker_id: str | None = None
    ) -> None:
        self.url = url
        self.lease = lease
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.engine: Engine = _engine(url)
        self._sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if self._sqlite else contextlib.nullcontext()
        )
        if self._sqlite:
            # The intake waits for the write lock itself, in sub-millisecond steps: SQLite's busy handler
            # sleeps up to 100 ms at a time, which is what a request would wait behind the worker.
            event.listen(self.engine, "connect", _sqlite_pragmas(0 if eager else 10000))
        try:
            _create_tables(self.engine)
        except OperationalError as exc:  # unreachable, refused credentials, no such database
            where = describe_store(url)
            raise SettingsError(f"FLUXGATE_DATABASE_URL: cannot use {where}: {_said(exc, url)}") from None

    def release_claims(self) -> None:
        """At a worker's start, hand back now (not after the lease) the claims of a worker known dead:
        on SQLite (one replica by design) every claim; on PostgreSQL those under this worker's id,
        which a processing process restarted by its connector shares with the one that died."""
        held = (
            deliveries.c.claimed_by.is_not(None)
            if self._sqlite
            else deliveries.c.claimed_by == self.worker_id
        )
        writing = outbox.c.claimed_by.is_not(None) if self._sqlite else outbox.c.claimed_by == self.worker_id
        with self._tx() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.state == DeliveryState.PENDING, held)
                .values(claimed_by=None, claimed_until=None)
            )
            conn.execute(update(outbox).where(writing).values(claimed_by=None, claimed_until=None))
        self.release_effect_claims(None if self._sqlite else f"{self.worker_id}:")

    def beat(self) -> None:
        """This worker is alive (its processing process calls this every few seconds)."""
        dialect = sqlite if self._sqlite else postgresql
        now = time.time()
        statement = (
            dialect.insert(workers)
            .values(id=self.worker_id, seen_at=now)
            .on_conflict_do_update(index_elements=["id"], set_={"seen_at": now})
        )
        with self._tx() as conn:
            conn.execute(statement)

    def release_orphans(self, stale_after: float) -> list[str]:
        """Hand back the claims of workers whose last heartbeat is older than `stale_after` seconds
        (killed, or their machine lost): their deliveries go to a live worker now, and their effects'
        outcomes become unknown (looked up at GitHub before acting again). Returns the workers
        found dead."""
        cutoff = time.time() - stale_after
        with self._tx() as conn:
            dead = [
                str(row.id)
                for row in conn.execute(
                    select(workers.c.id).where(workers.c.seen_at < cutoff, workers.c.id != self.worker_id)
                )
            ]
            if not dead:
                return []
            conn.execute(
                update(deliveries)
                .where(deliveries.c.state == DeliveryState.PENDING, deliveries.c.claimed_by.in_(dead))
                .values(claimed_by=None, claimed_until=None)
            )
            released = {"claimed_by": None, "claimed_until": None}
            conn.execute(update(outbox).where(outbox.c.claimed_by.in_(dead)).values(**released))
            for worker in dead:
                conn.execute(
                    update(claims)
                    .where(claims.c.until > 0.0, claims.c.owner.startswith(f"{worker}:"))
                    .values(until=0.0)
                )
            conn.execute(delete(workers).where(workers.c.id.in_(dead)))
        return dead

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        # SQLite has one writer at a time; queueing writers on a lock here is far faster than
        # SQLite's own busy handler, which sleeps in steps of up to 100 ms.
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def _insert(self) -> Any:
        dialect = sqlite if self._sqlite else postgresql
        return dialect.insert(deliveries)

    # -- receiving ------------------------------------------------------------------------------
    def accept(self, source: Source, dedupe_key: str, kind: str, body: bytes) -> bool:
        """Store a delivery; False when the same key was accepted before (a replay or a retry)."""
        return self.accept_many([(source, dedupe_key, kind, body)])[0]

    def accept_many(self, items: list[tuple[Source, str, str, bytes]]) -> list[bool]:
        """Store deliveries in one transaction (group commit); per item, whether it was new."""
        now = time.time()
        rows = [
            {
                "source": source,
                "dedupe_key": key[:128],  # a fingerprint or a checked delivery id: short
                "kind": kind[:64],
                "body": body,
                "received_at": now,
                "state": DeliveryState.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for source, key, kind, body in items
        ]
        statement = (
            self._insert()
            .values(rows)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(deliveries.c.dedupe_key)
        )
        inserted = self._write_spinning(statement)
        seen: set[str] = set()
        fresh = []
        for row in rows:
            key = str(row["dedupe_key"])
            fresh.append(key in inserted and key not in seen)
            seen.add(key)
        return fresh

    def _write_spinning(self, statement: Any) -> set[str]:
        wait, deadline = 0.0002, time.monotonic() + 10
        while True:
            try:
                with self._tx() as conn:
                    return {str(key) for key in conn.execute(statement).scalars()}
            except OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(wait)
                wait = min(wait * 1.5, 0.002)

    # -- working --------------------------------------------------------------------------------
    def claim(self, limit: int = 64) -> list[Delivery]:
        """Take up to `limit` due deliveries, oldest first, for `lease` seconds."""
        now = time.time()
        due = (
            select(deliveries.c.id)
            .where(deliveries.c.state == DeliveryState.PENDING, deliveries.c.next_attempt_at <= now)
            .where((deliveries.c.claimed_until.is_(None)) | (deliveries.c.claimed_until < now))
            .order_by(deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(deliveries)
            .where(deliveries.c.id.in_(due.scalar_subquery()))
            .values(claimed_by=self.worker_id, claimed_until=now + self.lease)
            .returning(
                deliveries.c.id,
                deliveries.c.source,
                deliveries.c.kind,
                deliveries.c.body,
                deliveries.c.received_at,
                deliveries.c.attempts,
            )
        )
        with self._tx() as conn:
            rows = conn.execute(statement).all()
        claimed = [Delivery(row[0], Source(row[1]), *row[2:]) for row in rows]
        return sorted(claimed, key=lambda d: d.id)

    def _finish(self, delivery_id: int, state: DeliveryState, note: str | None, **more: Any) -> None:
        """Settle a claimed delivery: its new state and note, its claim released."""
        with self._tx() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    state=state,
                    note=None if note is None else clean_text(note, 1000),
                    claimed_by=None,
                    claimed_until=None,
                    **more,
                )
            )

    def done(self, delivery_id: int, note: str | None = None) -> None:
        self._finish(delivery_id, DeliveryState.DONE, note)

    def ignored(self, delivery_id: int, note: str) -> None:
        self._finish(delivery_id, DeliveryState.IGNORED, note)

    def park(self, delivery_id: int, attempts: int, note: str) -> None:
        """Give up on a delivery that can never succeed as it stands (listed as failed, kept)."""
        self._finish(delivery_id, DeliveryState.FAILED, note, attempts=attempts + 1)

    def retry_later(
        self, delivery_id: int, attempts: int, error: str, delay: float, max_attempts: int
    ) -> bool:
        """Back off; after `max_attempts` the delivery is parked as failed (listed, never dropped)."""
        exhausted = attempts + 1 >= max_attempts
        state = DeliveryState.FAILED if exhausted else DeliveryState.PENDING
        self._finish(delivery_id, state, error, attempts=attempts + 1, next_attempt_at=time.time() + delay)
        return not exhausted

    # -- effects --------------------------------------------------------------------------------
    def effects_with_prefix(self, prefix: str) -> list[tuple[str, str]]:
        """Recorded (key, value) pairs whose key starts with `prefix`, oldest first."""
        query = (
            select(effects.c.key, effects.c.value)
            .where(effects.c.key.startswith(prefix))
            .order_by(effects.c.at)
        )
        with self.engine.connect() as conn:
            return [(str(k), str(v or "")) for k, v in conn.execute(query)]

    def effect_done(self, key: str) -> str | None:
        """The recorded result of a side effect, or None when it has not succeeded yet."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(effects.c.value).where(effects.c.key == fit_key(key))
            ).scalar_one_or_none()

    def record_effect(self, key: str, value: str = "") -> None:
        dialect = sqlite if self._sqlite else postgresql
        value = clean_text(value)
        statement = dialect.insert(effects).values(key=fit_key(key), value=value, at=time.time())
        statement = statement.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        with self._tx() as conn:
            conn.execute(statement)

    def claim_effect(self, key: str, owner: str, lease: float) -> Claim | None:
        """Claim the right to make the effect `key` (None: another owner holds a live claim). A claim
        found expired was taken by someone who may have made the call: the returned claim says its
        outcome is unknown."""
        key, now = fit_key(key), time.time()
        with self._tx() as conn:
            row = conn.execute(
                select(claims.c.owner, claims.c.until).where(claims.c.key == key).with_for_update()
            ).first()
            if row is None:
                dialect = sqlite if self._sqlite else postgresql
                inserted = conn.execute(
                    dialect.insert(claims)
                    .values(key=key, owner=owner, until=now + lease)
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(claims.c.key)
                ).first()
                return Claim(key, owner, unknown=False) if inserted is not None else None
            if row.until >= now:
                return None
            conn.execute(update(claims).where(claims.c.key == key).values(owner=owner, until=now + lease))
            return Claim(key, owner, unknown=True)

    def finish_effect(self, claim: Claim, value: str | None) -> None:
        """The effect is done (record `value`, unless None) and the claim released, in one transaction."""
        value = None if value is None else clean_text(value)
        dialect = sqlite if self._sqlite else postgresql
        with self._tx() as conn:
            if value is not None:
                conn.execute(
                    dialect.insert(effects)
                    .values(key=claim.key, value=value, at=time.time())
                    .on_conflict_do_update(index_elements=["key"], set_={"value": value})
                )
            conn.execute(claims.delete().where(claims.c.key == claim.key, claims.c.owner == claim.owner))

    def abandon_effect(self, claim: Claim) -> None:
        """The call failed without a clear answer: expire the claim now, so the next attempt (this
        worker's or another's) knows the outcome is unknown and looks before acting."""
        with self._tx() as conn:
            conn.execute(
                update(claims)
                .where(claims.c.key == claim.key, claims.c.owner == claim.owner)
                .values(until=0.0)
            )

    def release_effect_claims(self, owner_prefix: str | None) -> int:
        """At a worker's start: expire the claims a dead process of this worker left (all of them on
        SQLite, one replica by design). Their effects' outcomes are unknown, not forgotten."""
        query = update(claims).where(claims.c.until > 0.0)
        if owner_prefix is not None:
            query = query.where(claims.c.owner.startswith(owner_prefix))
        with self._tx() as conn:
            return int(conn.execute(query.values(until=0.0)).rowcount)

    # -- Flux objects ---------------------------------------------------------------------------
    def record_object(self, state: ObjectState, key: str) -> bool:
        """Keep the newest report per object; False when `state` is older than what is stored
        (events can arrive out of order after retries)."""
        dialect = sqlite if self._sqlite else postgresql
        values = {"key": fit_key(key), **state.__dict__}
        statement = dialect.insert(objects).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={k: v for k, v in values.items() if k != "key"},
            where=objects.c.event_time <= state.event_time,
        )
        with self._tx() as conn:
            return bool(conn.execute(statement).rowcount)

    def objects_of(self, app: str, env: str) -> list[ObjectState]:
        query = select(objects).where(objects.c.app == app, objects.c.env == env)
        with self.engine.connect() as conn:
            rows = [{k: v for k, v in row._mapping.items() if k != "key"} for row in conn.execute(query)]
        return [ObjectState(**{**row, "outcome": Outcome(row["outcome"])}) for row in rows]

    def record_report(self, state: ObjectState, key: str) -> None:
        """Keep the object's newest report at its revision (`key` names the object)."""
        if state.revision is None:
            return
        values = {
            "key": fit_key(f"{key}@{state.revision}"),
            **{k: v for k, v in state.__dict__.items()},
            "at": time.time(),
        }
        statement = self._dialect().insert(reports).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={k: v for k, v in values.items() if k != "key"},
            where=reports.c.event_time <= state.event_time,
        )
        with self._tx() as conn:
            conn.execute(statement)

    def reports_at(self, app: str, env: str, cluster: str, revision: str) -> list[ObjectState]:
        """Every object's newest report at `revision` in one cluster."""
        query = select(reports).where(
            reports.c.revision == revision,
            reports.c.app == app,
            reports.c.env == env,
            reports.c.cluster == cluster,
        )
        with self.engine.connect() as conn:
            rows = [
                {k: v for k, v in row._mapping.items() if k not in ("key", "at")}
                for row in conn.execute(query)
            ]
        return [ObjectState(**{**row, "outcome": Outcome(row["outcome"])}) for row in rows]

    def prune_reports(self, older_than: float) -> int:
        """Forget reports stored more than `older_than` seconds ago (a commit's verdict is posted by
        then), and writes GitHub refused that long ago (kept to be looked at, not forever)."""
        cutoff = time.time() - older_than
        with self._tx() as conn:
            conn.execute(delete(outbox).where(outbox.c.failed.is_not(None), outbox.c.wanted_at < cutoff))
            return int(conn.execute(delete(reports).where(reports.c.at < cutoff)).rowcount)

    # -- GitHub writes: the outbox and the budget -----------------------------------------------
    def _dialect(self) -> Any:
        return sqlite if self._sqlite else postgresql

    def want_write(self, key: str, kind: str, body: str, rank: int) -> bool:
        """Queue the write for `key`, replacing one not made yet; True when it replaced one (coalesced)."""
        now = time.time()
        statement = (
            self._dialect()
            .insert(outbox)
            .values(
                key=fit_key(key), kind=kind, body=body, rank=rank, version=1, first_wanted=now,
                wanted_at=now, not_before=now, attempts=0,
            )
            .on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "kind": kind, "body": body, "rank": rank, "version": outbox.c.version + 1,
                    "wanted_at": now, "not_before": now, "attempts": 0, "failed": None,
                },
            )
            .returning(outbox.c.version)
        )  # fmt: skip
        with self._tx() as conn:
            return int(conn.execute(statement).scalar_one()) > 1

    def take_write(self, lease: float, settle: float, max_hold: float) -> Write | None:
        """The next write to make, claimed for `lease` seconds: verdicts first, then oldest first; a
        write waits until its target has been quiet for `settle` seconds (newer states replace it
        meanwhile), or `max_hold` seconds after it was first wanted."""
        now = time.time()
        due = (
            select(outbox.c.key)
            .where(outbox.c.failed.is_(None), outbox.c.not_before <= now)
            .where((outbox.c.claimed_until.is_(None)) | (outbox.c.claimed_until < now))
            .where((outbox.c.wanted_at <= now - settle) | (outbox.c.first_wanted <= now - max_hold))
            .order_by(outbox.c.rank, outbox.c.first_wanted)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(outbox)
            .where(outbox.c.key.in_(due.scalar_subquery()))
            .values(claimed_by=self.worker_id, claimed_until=now + lease)
            .returning(
                outbox.c.key, outbox.c.kind, outbox.c.body, outbox.c.rank, outbox.c.version, outbox.c.attempts
            )
        )
        with self._tx() as conn:
            row = conn.execute(statement).first()
        return None if row is None else Write(*row)

    def wrote(self, write: Write) -> None:
        """`write` reached GitHub: forget it, unless a newer state replaced it meanwhile (then send that)."""
        with self._tx() as conn:
            gone = conn.execute(
                delete(outbox).where(outbox.c.key == write.key, outbox.c.version == write.version)
            ).rowcount
            if not gone:
                conn.execute(update(outbox).where(outbox.c.key == write.key).values(claimed_until=None))

    def write_later(self, write: Write, delay: float, failed: bool = True) -> None:
        """Try `write` again in `delay` seconds (a newer state replacing it is due at once); `failed`:
        the attempt counts towards giving up (waiting for the budget does not)."""
        attempts = write.attempts + 1 if failed else write.attempts
        self._unclaim(write, not_before=time.time() + delay, attempts=attempts)

    def write_failed(self, write: Write, why: str) -> None:
        """GitHub refused `write` for good: keep it with why, never send it again (a newer state may)."""
        self._unclaim(write, failed=clean_text(why, 1000))

    def _unclaim(self, write: Write, **values: Any) -> None:
        """Release `write`'s claim, and set `values` on it unless a newer state replaced it."""
        with self._tx() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.key == write.key, outbox.c.version == write.version)
                .values(**values)
            )
            conn.execute(update(outbox).where(outbox.c.key == write.key).values(claimed_until=None))

    def outbox_counts(self) -> dict[str, int]:
        """Writes waiting, by rank (`0`, `1`, `2`), and those GitHub refused (`failed`)."""
        waiting = (
            select(outbox.c.rank, func.count()).where(outbox.c.failed.is_(None)).group_by(outbox.c.rank)
        )
        failed = select(func.count()).select_from(outbox).where(outbox.c.failed.is_not(None))
        with self.engine.connect() as conn:
            counts = {str(rank): int(n) for rank, n in conn.execute(waiting)}
            counts["failed"] = int(conn.execute(failed).scalar_one())
        return counts

    def spend_write(
        self, credential: str, limits: list[tuple[int, float]], share: float = 1.0, margin: float = 1.0
    ) -> float:
        """Take one write from `credential`'s budget, shared by every replica: 0.0 when taken, else the
        seconds until one is free. `limits` are (writes, seconds) windows; a write of low rank may use
        only `share` of each, so verdicts always find room. Each window is kept `margin` seconds
        longer than GitHub's: a write is counted here when it is about to be sent, and GitHub counts
        it when it arrives, so one that took longer on its way than a later one would otherwise
        leave GitHub's window later than ours (found refused by the emulator)."""
        limits = [(count, window + margin) for count, window in limits]
        now = time.time()
        longest = max(window for _, window in limits)
        with self._tx() as conn:
            conn.execute(
                self._dialect()
                .insert(budgets)
                .values(credential=credential, paused_until=0.0)
                .on_conflict_do_nothing(index_elements=["credential"])
            )
            paused = conn.execute(
                select(budgets.c.paused_until).where(budgets.c.credential == credential).with_for_update()
            ).scalar_one()
            if paused > now:
                return float(paused - now)
            for count, window in limits:
                allowed = max(1, int(count * share))
                recent = (writes.c.credential == credential) & (writes.c.at > now - window)
                made = conn.execute(select(func.count()).select_from(writes).where(recent)).scalar_one()
                if made >= allowed:  # free once the allowed-th newest leaves the window
                    newest_first = select(writes.c.at).where(recent).order_by(writes.c.at.desc())
                    oldest_allowed = conn.execute(newest_first.offset(allowed - 1).limit(1)).scalar_one()
                    return max(0.001, float(oldest_allowed) + window - now)
            conn.execute(writes.insert().values(credential=credential, at=now))
            conn.execute(delete(writes).where(writes.c.credential == credential, writes.c.at < now - longest))
        return 0.0

    def pause_writes(self, credential: str, seconds: float) -> None:
        """GitHub asked to wait (`Retry-After`): no replica writes as `credential` for `seconds`."""
        until = time.time() + seconds
        statement = (
            self._dialect()
            .insert(budgets)
            .values(credential=credential, paused_until=until)
            .on_conflict_do_update(
                index_elements=["credential"],
                set_={"paused_until": until},
                where=budgets.c.paused_until < until,
            )
        )
        with self._tx() as conn:
            conn.execute(statement)

    def writes_in(self, credential: str, window: float) -> int:
        """Writes `credential` made in the last `window` seconds."""
        query = (
            select(func.count())
            .select_from(writes)
            .where(writes.c.credential == credential, writes.c.at > time.time() - window)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- observing ------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state)).all()
        return {state: int(count) for state, count in rows}

    def listing(self, state: DeliveryState | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = (
            select(
                deliveries.c.id,
                deliveries.c.source,
                deliveries.c.kind,
                deliveries.c.state,
                deliveries.c.attempts,
                deliveries.c.note,
            )
            .order_by(deliveries.c.id.desc())
            .limit(limit)
        )
        if state:
            query = query.where(deliveries.c.state == state)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except Exception:
            return False


def create_database(server_url: str, name: str) -> str:
    """A new, empty database `name` on the PostgreSQL server of `server_url` (which names any database
    the role can connect to, e.g. `postgres`); returns the new database's `postgresql+psycopg` URL.
    For the sandbox's stacks and the tests: production databases are made by their operators.

    Raises:
        SettingsError: the server cannot be reached, or the role may not create databases.
    """
    admin = _engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except (OperationalError, ProgrammingError) as exc:  # unreachable, or no CREATEDB privilege
        where = describe_store(server_url)
        raise SettingsError(f"cannot create database {name} on {where}: {_said(exc, server_url)}") from None
    finally:
        admin.dispose()
    return make_url(server_url).set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False
    )


def drop_database(server_url: str, name: str) -> None:
    """Drop `name` (and its connections) if it exists."""
    admin = _engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
