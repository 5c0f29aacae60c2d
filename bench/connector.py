"""Connector throughput: N concurrent senders post signed Flux events to a real `fluxgate connector`.

Both the connector and the emulated GitHub run as their own processes; this process only sends. The
emulator runs at a lower CPU priority: it stands in for github.com, whose CPU is not the connector's.
Each event reports a different Kustomization (so each one is news and costs one commit status),
labelled with env/cluster like an Alert's eventMetadata. Printed, for an instant GitHub and for one
that answers every call after 100 ms (real GitHub's order of latency):
- acknowledged events per second and p50/p99 acknowledgement latency (the 202, stored on disk);
- end-to-end latency from sending an event to its commit status arriving at GitHub (p50/p99),
  commit statuses per second reaching GitHub, and the time the backlog takes to drain after the load;
- the connector's peak memory: the proportional set sizes of all its processes, summed.
With `--database-url` (a PostgreSQL server), each delay runs on SQLite, then on PostgreSQL in a fresh
database made on that server for the run and dropped after it (the URL's own database is never written
to): the table gets a `store` column, and a last line gives PostgreSQL/SQLite ratios of acknowledged
events/s and of statuses/s per delay.
Targets (2 cores), on each store: >= 1,000 events/s with p99 < 25 ms at 32 senders at either delay; at
100 ms, statuses reach GitHub at >= 100/s and the backlog drains.

These runs lift the connector's GitHub write budget and write with as many threads as they process:
they measure the connector's capacity, not GitHub's limits.

`--real-github` measures what decides whether it keeps up with GitHub: the connector as shipped
(write budget of 80/min and 500/h, writes settled for 1 s, 4 writer threads), against an emulated
GitHub answering every call after 100 ms and enforcing the same secondary limits (403 with
Retry-After beyond them). A burst of 2,000 events: 20 commits, one every `--gap` seconds (4), each
reported by 25 Kustomizations on each of 4 clusters, all ready but one that fails its health check.
Printed: GitHub writes made, writes per event, 403/429s received, the time from the last event to
the last commit's final status at GitHub (every commit and cluster must end with its own verdict),
and peak memory over the connector's processes. Targets: <= 0.1 writes per event, 0 refused,
<= 5 s, <= 150 MiB.

Run: `make bench` or `.venv/bin/python bench/connector.py [--events 4000] [--senders 32]
[--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] | --real-github [--gap 4]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from common import (
    CONFIG,
    PeakMemory,
    commits,
    flux_event,
    signed,
    start_connector,
    start_github,
)
from sqlalchemy.exc import SQLAlchemyError

from fluxgate.connector.reconcile_flux import status_context
from fluxgate.connector.store import create_database, drop_database, sqlite_url
from fluxgate.errors import FluxgateError, UsageError, one_line
from fluxgate.sandbox.github import free_port

DELAYS = (0.0, 0.1)
_databases = itertools.count()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


CLUSTERS = [("dev", "dev-eu"), ("staging", "staging-eu"), ("prod", "prod-eu"), ("prod", "prod-us")]


def events(count: int, shas: list[str]) -> list[tuple[str, bytes]]:
    """Each event a commit status of its own: event i reports cluster i % 4 at commit i // 4 (the
    connector keeps one status per commit and cluster), keyed `sha context`."""
    out = []
    for i in range(count):
        env, cluster = CLUSTERS[i % len(CLUSTERS)]
        sha = shas[i // len(CLUSTERS)]
        out.append((f"{sha} {status_context(env, cluster)}", flux_event(f"app-{i:05d}", sha, env, cluster)))
    return out


async def send_all(
    url: str, batch: list[tuple[str, bytes]], senders: int, rate: float | None = None
) -> tuple[list[float], dict[str, float], float]:
    """`senders` concurrent connections. Without `rate`, each posts its next event as soon as the last is
    answered (the most the connector can take). With `rate` (events/s in all), events are due on a fixed
    schedule and latency counts from when an event was due, so a stall cannot hide its own queue."""
    queue = list(reversed(batch))
    latencies: list[float] = []
    sent_at: dict[str, float] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=senders)) as session:
        began = time.perf_counter()
        sent = 0

        async def sender() -> None:
            nonlocal sent
            while queue:
                context, body = queue.pop()
                headers = signed(body)
                started = time.perf_counter()
                if rate:
                    due = began + sent / rate
                    sent += 1
                    if due > started:
                        await asyncio.sleep(due - started)
                    started = due
                sent_at[context] = time.time()
                async with session.post(f"{url}/flux/events", data=body, headers=headers) as answer:
                    await answer.read()
                    if answer.status != 202:
                        raise RuntimeError(f"{answer.status}: {await answer.text()}")
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(sender() for _ in range(senders)))
        elapsed = time.perf_counter() - began
    return latencies, sent_at, elapsed


def fresh_database() -> str:
    """A database name of this run's own: `fluxgate_bench_<pid>_<n>`."""
    return f"fluxgate_bench_{os.getpid()}_{next(_databases)}"


def dropped(server: str, name: str) -> None:
    """Drop `name`; if the server will not, say which database is left behind (and go on)."""
    try:
        drop_database(server, name)
    except SQLAlchemyError as exc:
        print(f"could not drop database {name}, drop it by hand: {one_line(exc, 200)}", file=sys.stderr)


def run_on(server: str | None, delay: float, count: int, senders: int, workers: int) -> dict[str, Any]:
    """`run` on SQLite (no `server`), or on PostgreSQL in a fresh database on `server`, dropped after."""
    if server is None:
        return {"store": "sqlite", **run(delay, count, senders, workers)}
    name = fresh_database()
    url = create_database(server, name)
    try:
        return {"store": "postgresql", **run(delay, count, senders, workers, url)}
    finally:
        dropped(server, name)


def run(
    delay: float, count: int, senders: int, workers: int, database_url: str | None = None
) -> dict[str, float]:
    with rig(-(-count // len(CLUSTERS)), delay, (), workers, database_url) as (shas, gh_url, c_url, memory):
        batch = events(count, shas)
        latencies, sent_at, elapsed = asyncio.run(send_all(c_url, batch[: count // 2], senders))
        paced, paced_at, _ = asyncio.run(send_all(c_url, batch[count // 2 :], senders, rate=1000.0))
        sent_at |= paced_at
        load_end = time.time()
        arrived: dict[str, float] = {}
        deadline = time.monotonic() + 300
        while len(arrived) < count and time.monotonic() < deadline:
            time.sleep(0.5)
            for record in httpx.get(f"{gh_url}/_sandbox/requests", timeout=30).json():
                if record.get("context") and record["status"] == 201:
                    target = f"{record['path'].rsplit('/', 1)[1]} {record['context']}"
                    arrived.setdefault(target, record["at"])
        e2e = [arrived[c] - sent_at[c] for c in arrived if c in sent_at]
        first, last = min(arrived.values()), max(arrived.values())
        return {
            "delay_ms": delay * 1000,
            "events": count,
            "acked_per_s": (count // 2) / elapsed,
            "ack_p50_ms": percentile(latencies, 50) * 1000,
            "ack_p99_ms": percentile(latencies, 99) * 1000,
            "paced_p50_ms": percentile(paced, 50) * 1000,
            "paced_p99_ms": percentile(paced, 99) * 1000,
            "statuses": len(arrived),
            "statuses_per_s": len(arrived) / max(1e-9, last - first),
            "e2e_p50_s": statistics.median(e2e),
            "e2e_p99_s": percentile(e2e, 99),
            "drain_s": max(0.0, last - load_end),
            "peak_mib": memory.stop(),
        }


@contextlib.contextmanager
def rig(
    commit_count: int,
    latency: float,
    github_options: tuple[str, ...],
    workers: int,
    database_url: str | None = None,
    shipped: bool = False,
) -> Iterator[tuple[list[str], str, str, PeakMemory]]:
    """An emulated GitHub (its repository holding `commit_count` commits) and a real connector on a
    store of its own: the commits, both URLs, and the connector's memory sampler. Both stop after."""
    work = Path(tempfile.mkdtemp(prefix="fluxgate-bench-connector-"))
    shas = commits(work / "gh", commit_count)
    github, gh_url = start_github(work / "gh", latency, *github_options)
    config = work / "fluxgate.yaml"
    config.write_text(CONFIG.read_text())
    port = free_port()
    connector = None
    try:
        data = work / "connector"  # the SQLite store's URL set, not left to FLUXGATE_DATABASE_URL if set
        connector = start_connector(
            config, data, port, gh_url, workers, database_url or sqlite_url(data), shipped=shipped
        )
        yield shas, gh_url, f"http://127.0.0.1:{port}", PeakMemory(connector.pid)
    finally:
        if connector is not None:
            connector.terminate()
            connector.wait(30)
        github.terminate()
        github.wait(30)


# -- --real-github: a burst against GitHub's limits -------------------------------------------------
REAL_COMMITS, REAL_OBJECTS = 20, 25
FAILING = (7, "staging-eu", 3)  # commit index, cluster, object: the one HealthCheckFailed of the burst
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


def burst(shas: list[str]) -> list[list[tuple[str, bytes]]]:
    """Per commit, one final event per cluster and object (`sha context` keyed): every object ready,
    but one that fails its health check."""
    rounds = []
    for c, sha in enumerate(shas):
        batch = []
        for env, cluster in CLUSTERS:
            for n in range(REAL_OBJECTS):
                name = f"app-{n:02d}"
                if (c, cluster, n) == FAILING:
                    body = flux_event(name, sha, env, cluster, "HealthCheckFailed",
                                      f"Deployment/shop-{env}/{name}: timeout waiting for rollout")  # fmt: skip
                else:
                    body = flux_event(name, sha, env, cluster, "ReconciliationSucceeded",
                                      f"Applied revision: main@sha1:{sha}")  # fmt: skip
                batch.append((f"{sha} {status_context(env, cluster)}", body))
        rounds.append(batch)
    return rounds


def final_statuses(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last commit status GitHub accepted per `sha context`."""
    last: dict[str, dict[str, Any]] = {}
    for r in records:
        if r["method"] == "POST" and r["status"] == 201 and r.get("context") and "/statuses/" in r["path"]:
            last[f"{r['path'].rsplit('/', 1)[1]} {r['context']}"] = r
    return last


def settled(final: dict[str, dict[str, Any]], targets: set[str]) -> bool:
    """Every target's last status is its verdict: all objects counted, success or the failure."""
    return all(
        t in final
        and final[t]["state"] in ("success", "failure")
        and (final[t]["state"] == "failure" or str(final[t].get("description", "")).startswith(f"All {REAL_OBJECTS} "))
        for t in targets
    )


def run_real(gap: float, senders: int) -> int:
    """The burst against an emulated GitHub that answers after 100 ms and enforces GitHub's secondary
    limits (403 with Retry-After), the connector as shipped (write budget, settle, writers)."""
    limits = ("--secondary-limit", "github")
    with rig(REAL_COMMITS, 0.1, limits, 8, shipped=True) as (shas, gh_url, url, memory):
        rounds = burst(shas)
        targets = {key for batch in rounds for key, _ in batch}
        began = time.monotonic()
        for c, batch in enumerate(rounds):
            due = began + c * gap
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            asyncio.run(send_all(url, batch, senders))
        last_event = time.time()
        deadline = time.monotonic() + 600
        while True:
            records = httpx.get(f"{gh_url}/_sandbox/requests", timeout=60).json()
            final = final_statuses(records)
            if settled(final, targets) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        peak = memory.stop()
    writes = [r for r in records if r["method"] in WRITE_METHODS and r["status"] < 300]
    limited = [r for r in records if r["method"] in WRITE_METHODS and r["status"] in (403, 429)]
    events = sum(len(batch) for batch in rounds)
    missing = sorted(targets - set(final))
    wrong = [t for t in targets if t in final and not settled(final, {t})]
    after = max((final[t]["at"] for t in targets if t in final), default=last_event) - last_event
    per_event = len(writes) / events
    print(f"real GitHub: {events} events ({REAL_COMMITS} commits x {len(CLUSTERS)} clusters x {REAL_OBJECTS} "
          f"objects, a commit every {gap:g} s), GitHub answering after 100 ms with its secondary limits")  # fmt: skip
    print(f"{'writes':>7} {'per event':>9} {'403/429':>7} {'final after last event':>22} {'peak PSS MiB':>12}")
    print(f"{len(writes):>7} {per_event:>9.3f} {len(limited):>7} {after:>21.1f}s {peak:>12.0f}")
    print(f"{len(targets)} commit statuses (commit x cluster): {len(targets) - len(missing) - len(wrong)} final, "
          f"{len(missing)} missing, {len(wrong)} not final")  # fmt: skip
    met = per_event <= 0.1 and not limited and after <= 5.0 and not missing and not wrong and peak <= 150
    print("targets (writes per event <= 0.1, 0 refused, every final status within 5 s, peak <= 150 MiB): "
          + ("met" if met else "NOT met"))
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--workers", type=int, default=32, help="connector threads calling GitHub")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL server (postgresql+psycopg://user@host:5432/postgres) to compare with SQLite on; "
        "each run gets a database of its own there, dropped after it",
    )
    parser.add_argument(
        "--real-github",
        action="store_true",
        help="instead: a burst of 2,000 events against GitHub's limits, the connector as shipped",
    )
    parser.add_argument("--gap", type=float, default=4.0, help="with --real-github: seconds between commits")
    args = parser.parse_args()
    try:
        if args.real_github:
            return run_real(args.gap, args.senders)
        return bench(args)
    except FluxgateError as err:
        said = str(err).replace("FLUXGATE_DATABASE_URL:", "--database-url:")  # the store names its setting
        print(f"bench/connector.py: {said}", file=sys.stderr)
        return err.exit_code


def bench(args: argparse.Namespace) -> int:
    server: str | None = args.database_url
    stores: list[str | None] = [None]
    if server is not None:
        scheme = server.partition("://")[0] if "://" in server else "(no scheme)"
        if scheme.split("+")[0] != "postgresql":
            raise UsageError(
                f"--database-url: {scheme!r} is not PostgreSQL; e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
            )
        name = fresh_database()  # an unreachable server or a role without CREATEDB fails now, not
        create_database(server, name)  # after the first SQLite run
        dropped(server, name)
        stores.append(server)
    rows = [
        run_on(store, delay, args.events, args.senders, args.workers) for delay in DELAYS for store in stores
    ]
    compare = server is not None
    store_head = f"{'store':>10} " if compare else ""
    print(f"{args.events} events, {args.senders} senders, connector with {args.workers} GitHub workers")
    print(
        "max: senders post back to back (first half of the events); at 1000/s: paced, latency from due time"
    )
    print(
        f"{'GitHub delay':>12} {store_head}{'max ack/s':>9} {'p50':>7} {'p99':>7} | {'at 1000/s p50':>13} {'p99':>7} | "
        f"{'statuses/s':>10} {'e2e p50':>8} {'e2e p99':>8} {'drain':>7} {'peak MiB':>8}"
    )
    for r in rows:
        store = f"{r['store']:>10} " if compare else ""
        print(
            f"{r['delay_ms']:>10.0f}ms {store}{r['acked_per_s']:>9.0f} {r['ack_p50_ms']:>5.1f}ms {r['ack_p99_ms']:>5.1f}ms | "
            f"{r['paced_p50_ms']:>11.1f}ms {r['paced_p99_ms']:>5.1f}ms | {r['statuses_per_s']:>10.0f} "
            f"{r['e2e_p50_s']:>7.2f}s {r['e2e_p99_s']:>7.2f}s {r['drain_s']:>6.1f}s {r['peak_mib']:>8.0f}"
        )
    for r in rows:
        on = f" on {r['store']}" if compare else ""
        print(f"{r['delay_ms']:.0f} ms{on}: {r['statuses']} of {args.events} commit statuses reached GitHub")
    if compare:
        by = {(r["store"], r["delay_ms"]): r for r in rows}
        ratios = []
        for delay in DELAYS:
            pg, lite = by["postgresql", delay * 1000], by["sqlite", delay * 1000]
            ratios.append(
                f"{delay * 1000:.0f} ms: ack/s {pg['acked_per_s'] / lite['acked_per_s']:.2f}x, "
                f"statuses/s {pg['statuses_per_s'] / max(1e-9, lite['statuses_per_s']):.2f}x"
            )
        print("postgresql/sqlite: " + "; ".join(ratios))
    missed = [
        r
        for r in rows
        if not (r["acked_per_s"] >= 1000 and r["paced_p99_ms"] < 25 and r["statuses"] == args.events)
        or (r["delay_ms"] == DELAYS[-1] * 1000 and r["statuses_per_s"] < 100)
    ]
    where = " on " + " and ".join(dict.fromkeys(str(r["store"]) for r in missed)) if compare else ""
    print(
        "targets met"
        if not missed
        else f"targets NOT met{where}: >= 1000 acked/s, p99 < 25 ms, every status delivered, "
        ">= 100 statuses/s at 100 ms"
    )
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())

