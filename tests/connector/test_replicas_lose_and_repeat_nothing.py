"""Three connector replicas on one PostgreSQL store, the production shape: started at the same instant on
an empty database (twice: the create-table race), then a stream of signed Flux events sent
across them, one replica killed with `kill -9` (its whole process group) once 40% are acknowledged and
restarted half a second later. Senders retry an event on another replica until one acknowledges it,
as a load balancer in front of them would. Each event reports a commit of its own, so each has a
commit status of its own: every acknowledged event's status reaches GitHub exactly once, and every
delivery ends done."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from fluxgate.connector.signatures import flux_signature
from fluxgate.connector.store import create_database, drop_database
from fluxgate.sandbox.github import RunningEmulator, free_port
from tests.connector.conftest import FLUX_KEY, ConnectorProcess, kustomization_event
from tests.servers import wait_until_up

# 500 in the suite (the kill and restart are what it proves); FLUXGATE_TEST_REPLICA_EVENTS=5000 by hand
EVENTS = int(os.environ.get("FLUXGATE_TEST_REPLICA_EVENTS", "500"))
REPLICAS = 3
STATUS = "/repos/{owner}/{repo}/statuses/{sha}"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _replicas(connector: ConnectorProcess, database: str, root: Path) -> list[ConnectorProcess]:
    env = {**connector.env, "FLUXGATE_DATABASE_URL": database, "FLUXGATE_HEARTBEAT": "0.5",
           "FLUXGATE_ORPHAN_AFTER": "3", "FLUXGATE_WORKERS": "8",
           "FLUXGATE_GITHUB__RETRIES": "3",
           "FLUXGATE_GITHUB_WRITE_LIMITS": "100000/60"}  # not what this test is about; fmt: skip
    made = []
    for n in range(REPLICAS):
        port = free_port()
        made.append(ConnectorProcess(f"http://127.0.0.1:{port}", root / f"r{n}", connector.config,
                                     connector.repo, env, port, separate_process=True))  # fmt: skip
    return made


def _start_together(replicas: list[ConnectorProcess]) -> None:
    """Every replica's process started before any is waited for: they race to create the tables."""
    for replica in replicas:
        replica.start_detached()
    for replica in replicas:
        assert replica.proc is not None
        wait_until_up(f"{replica.url}/healthz", replica.proc, "connector", timeout=60)


def _stop(replicas: list[ConnectorProcess]) -> str:
    return "".join(replica.stop() for replica in replicas)


async def _send(urls: list[str], bodies: list[bytes], at: int, crash: Any) -> dict[int, float]:
    queue = list(reversed(range(len(bodies))))
    acked: dict[int, float] = {}
    crashing: asyncio.Task[None] | None = None
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=24), timeout=timeout) as session:

        async def post(url: str, body: bytes) -> bool:
            headers = {"Content-Type": "application/json", "X-Signature": flux_signature(body, FLUX_KEY)}
            try:
                async with session.post(f"{url}/flux/events", data=body, headers=headers) as answer:
                    await answer.read()
                    return answer.status < 300
            except (TimeoutError, aiohttp.ClientError):
                return False  # that replica is down: the next one gets it

        async def sender(first: int) -> None:
            nonlocal crashing
            turn = first
            while queue:
                index = queue.pop()
                deadline = time.monotonic() + 60
                while not await post(urls[turn % len(urls)], bodies[index]):
                    turn += 1
                    assert time.monotonic() < deadline, f"no replica acknowledged event {index}"
                    await asyncio.sleep(0.02)
                turn += 1
                acked[index] = time.monotonic()
                if len(acked) == at and crashing is None:
                    crashing = asyncio.create_task(crash())

        await asyncio.gather(*(sender(n) for n in range(24)))
        if crashing is not None:
            await crashing
    return acked


@pytest.mark.connector_process
def test_three_replicas_lose_nothing_and_repeat_nothing_across_a_kill(
    github: RunningEmulator, connector: ConnectorProcess, postgres_server: str, postgres_url: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    connector.stop()
    first = _fresh(postgres_server)
    try:  # replicas started together on an empty database, twice
        for round_, database in enumerate((first, postgres_url)):
            replicas = _replicas(connector, database, tmp_path / f"round{round_}")
            _start_together(replicas)
            for replica in replicas:
                ready = httpx.get(f"{replica.url}/readyz", timeout=10).json()
                assert ready["ready"] is True and ready["checks"]["store"] is True, ready
            if round_ == 0:
                _stop(replicas)
    finally:
        drop_database(postgres_server, first.rsplit("/", 1)[1])

    shas = [
        github.emulator.commit_files(connector.repo, "main", {"n.txt": f"{n}\n"}, f"change {n}", "bot")
        for n in range(EVENTS)
    ]
    bodies = [json.dumps(kustomization_event(sha, "Progressing", "reconciling")).encode() for sha in shas]
    victim = replicas[1]
    killed: dict[str, float] = {}

    async def crash() -> None:
        assert victim.proc is not None
        killed["at"] = time.monotonic()
        os.killpg(victim.proc.pid, signal.SIGKILL)
        await asyncio.to_thread(victim.proc.communicate)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(victim.start_detached)  # back while the others carry the stream
        assert victim.proc is not None
        await asyncio.to_thread(wait_until_up, f"{victim.url}/healthz", victim.proc, "connector", 120)

    calls_before = len(github.emulator.calls())
    began = time.monotonic()
    try:
        acked = asyncio.run(_send([r.url for r in replicas], bodies, int(EVENTS * 0.4), crash))
        assert len(acked) == EVENTS
        wanted = {(sha, "fluxgate/dev/dev-eu") for sha in shas}
        deadline = time.monotonic() + 180
        while True:
            made = [r for r in github.emulator.calls(calls_before)
                    if r.method == "POST" and r.route == STATUS and r.status < 300]  # fmt: skip
            contexts = Counter(
                (r.path.rsplit("/", 1)[1], r.body["context"]) for r in made if isinstance(r.body, dict)
            )
            if wanted <= set(contexts) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        drained = time.monotonic() - began
        listing = replicas[0].settle(timeout=60)
    finally:
        log = _stop(replicas)
    lost = wanted - set(contexts)
    repeated = {context: n for context, n in contexts.items() if n > 1}
    extra = sum(repeated.values()) - len(repeated)
    print(f"{EVENTS} events across {REPLICAS} replicas, one killed at 40%: {len(lost)} lost, "
          f"{extra} repeated, {EVENTS / drained:.0f} statuses/s overall")  # fmt: skip
    assert not lost, sorted(lost)[:5]
    assert not repeated, sorted(repeated.items())[:5]
    assert listing["counts"] == {"done": EVENTS}, listing["counts"]
    assert "Traceback" not in log, log[-3000:]


def _fresh(server: str) -> str:
    return create_database(server, f"fluxgate_{uuid.uuid4().hex[:12]}")
