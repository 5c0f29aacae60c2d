"""Connector throughput: N concurrent senders post signed Flux events to a real `fluxgate connector`.

Both the connector and the emulated GitHub run as their own processes; this process only sends. The
emulator runs at a lower CPU priority: it stands in for github.com, whose CPU is not the connector's.
Each event reports a different Kustomization (so each one is news and costs one commit status),
labelled with env/cluster like an Alert's eventMetadata. Printed, for an instant GitHub and for one
that answers every call after 100 ms (real GitHub's order of latency):
- acknowledged events per second and p50/p99 acknowledgement latency (the 202, stored on disk);
- end-to-end latency from sending an event to its commit status arriving at GitHub (p50/p99),
  commit statuses per second reaching GitHub, and the time the backlog takes to drain after the load;
- the connector's peak memory (VmHWM).
With `--database-url` (a PostgreSQL server), each delay runs on SQLite, then on PostgreSQL in a fresh
database made on that server for the run and dropped after it (the URL's own database is never written
to): the table gets a `store` column, and a last line gives PostgreSQL/SQLite ratios of acknowledged
events/s and of statuses/s per delay.
Targets (2 cores), on each store: >= 1,000 events/s with p99 < 25 ms at 32 senders at either delay; at
100 ms, statuses reach GitHub at >= 100/s and the backlog drains.

Run: `make bench` or `.venv/bin/python bench/connector.py [--events 4000] [--senders 32]
[--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from common import CONFIG, REPO, TOKEN, flux_event, signed, start_connector, start_github
from sqlalchemy.exc import SQLAlchemyError

from fluxgate.connector.store import create_database, drop_database, sqlite_url
from fluxgate.errors import FluxgateError, UsageError, one_line
from fluxgate.sandbox.github import free_port

DELAYS = (0.0, 0.1)
_databases = itertools.count()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def peak_memory_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def events(count: int, sha: str) -> list[tuple[str, bytes]]:
    names = [f"app-{i:05d}" for i in range(count)]
    return [(f"fluxgate/dev/dev-eu/kustomization/{name}", flux_event(name, sha)) for name in names]


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
    work = Path(tempfile.mkdtemp(prefix="fluxgate-bench-connector-"))
    github, gh_url = start_github(work / "gh", latency=delay)
    config = work / "fluxgate.yaml"
    config.write_text(CONFIG.read_text())
    c_port = free_port()
    c_url = f"http://127.0.0.1:{c_port}"
    connector = None
    try:
        data = work / "connector"  # the SQLite store's URL set, not left to FLUXGATE_DATABASE_URL if set
        connector = start_connector(config, data, c_port, gh_url, workers, database_url or sqlite_url(data))
        head = httpx.get(
            f"{gh_url}/repos/{REPO}/git/ref/heads/main",
            headers={"Authorization": f"token {TOKEN}"},
            timeout=10,
        ).json()["object"]["sha"]
        batch = events(count, head)
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
                    arrived.setdefault(record["context"], record["at"])
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
            "peak_mib": peak_memory_mib(connector.pid),
        }
    finally:
        if connector is not None:
            connector.terminate()
            connector.wait(30)
        github.terminate()
        github.wait(30)


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
    args = parser.parse_args()
    try:
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
