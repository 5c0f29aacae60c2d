"""Crash recovery: kill -9 a real `fluxgate connector` partway through a stream of signed Flux events.

The connector and the emulated GitHub run as their own processes, as in bench/connector.py; this process
only sends, with senders that retry an event until it is acknowledged (as Flux's notification-controller
does while the connector is down). Each scenario gets a fresh connector and GitHub, waits until one
warm-up event has reached GitHub (processing is running), then sends the stream and, once --at of it is
acknowledged:
  a. kill -9 of the whole connector (its process group: the HTTP process and its processing process),
     then, --down seconds later, a restart on the same data folder;
  b. kill -9 of the processing process only; the HTTP process goes on acknowledging and is expected to
     notice and start another by itself.
The stream: every event a different Kustomization, Progressing with a change set; runs of 50 share a
cluster (dev-eu, staging-eu, prod-eu, prod-us of the example app) and a commit, so the connector keeps
a commit status per (commit, cluster) that counts the run's objects ("k of 50 ready"), and creates a
Deployment per (environment, commit) and moves it to in_progress.

Printed per scenario, from the emulated GitHub's request log, beside the targets:
- acked: events answered 2xx;
- lost (target 0): acknowledged events that the last commit status of their (commit, cluster) at GitHub
  does not count when the drain ended;
  "drain" says how it ended: every status arrived, none new for --stall seconds (stuck), or cut off
  --drain seconds after the last acknowledgement (statuses still arriving: slow rather than stuck);
- repeated (target 0): side effects GitHub carried out more than once, each extra POST counting one:
  commit statuses with the same (sha, context, state, description), Deployments with the same
  (environment, sha),
  deployment statuses with the same (deployment, state); "across kill" counts those whose first copy
  came from the killed process and the repeat from its successor (copies from one process are a race
  inside it, not the crash);
- back after (target <= 2 s): from the moment processing could resume (in a, when the new connector
  acknowledges again; in b, the kill: the HTTP side never left) to the first commit status GitHub
  receives over a connection opened after the kill. The line below the table also gives (a) from the
  new process's start, which includes importing Python on this machine.

Run: `make bench` or `.venv/bin/python bench/crash.py [--events 10000] [--scenarios a,b]`
(`none` is a control run without a kill).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from common import (
    CONFIG,
    commits,
    connector_command,
    connector_env,
    descendants,
    flux_event,
    signed,
    start_connector,
    start_github,
)

from fluxgate.connector.reconcile_flux import status_context
from fluxgate.sandbox.github import free_port

CLUSTERS = [("dev", "dev-eu"), ("staging", "staging-eu"), ("prod", "prod-eu"), ("prod", "prod-us")]
RUN = 50  # consecutive events sharing a cluster and a commit
SCENARIOS = {
    "none": "no kill (control)",
    "a": "a. kill -9 whole connector, restart",
    "b": "b. kill -9 processing process only",
}
TARGET_BACK = 2.0

_STATUS = re.compile(r"/statuses/(?P<sha>[0-9a-f]{40})$")
_DEPLOYMENTS = re.compile(r"/deployments$")
_DEPLOYMENT_STATUS = re.compile(r"/deployments/(?P<id>\d+)/statuses$")


@dataclass(frozen=True)
class Event:
    context: str
    sha: str
    body: bytes

    @property
    def target(self) -> tuple[str, str]:
        """The commit status that counts it: (sha, context)."""
        return self.sha, self.context


def counted(description: str) -> int:
    """How many objects a cluster's commit status counts: `k of N ready…`, `All N ready…`, else one."""
    found = re.match(r"(?:\d+ of (\d+)|All (\d+)) ", description or "")
    return int(found[1] or found[2]) if found else 1


def event(name: str, sha: str, env: str, cluster: str, message: str | None = None) -> Event:
    context = status_context(env, cluster)
    return Event(context, sha, flux_event(name, sha, env, cluster, message=message))


def stream(count: int, shas: list[str]) -> list[Event]:
    out = []
    for i in range(count):
        run = i // RUN
        env, cluster = CLUSTERS[run % len(CLUSTERS)]
        out.append(event(f"app-{i:05d}", shas[run // len(CLUSTERS)], env, cluster))
    return out


class RequestLog:
    """The emulated GitHub's request log, read incrementally (answers still being written are re-read)."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/_sandbox/requests"
        self.records: list[dict[str, Any]] = []

    def refresh(self) -> list[dict[str, Any]]:
        start, recent = len(self.records), time.time() - 2.0
        while start > 0 and self.records[start - 1]["at"] > recent:
            start -= 1
        self.records[start:] = httpx.get(self.url, params={"since": start}, timeout=60).json()
        return self.records

    def statuses(self) -> list[dict[str, Any]]:
        """Commit statuses GitHub set (201), each with its `target`: (sha, context)."""
        out = []
        for r in self.records:
            found = _STATUS.search(r["path"]) if r["method"] == "POST" and r["status"] == 201 else None
            if found:
                out.append({**r, "target": (found["sha"], r.get("context"))})
        return out

    def counts(self) -> dict[tuple[str, str], int]:
        """Per (sha, context), how many objects its last status at GitHub counts."""
        return {r["target"]: counted(r.get("description") or "") for r in self.statuses()}


def side_effects(records: list[dict[str, Any]]) -> dict[str, dict[Any, list[dict[str, Any]]]]:
    """Every POST GitHub carried out (201), by kind and by what it did."""
    kinds: dict[str, dict[Any, list[dict[str, Any]]]] = {
        "statuses": defaultdict(list),
        "deployments": defaultdict(list),
        "deployment statuses": defaultdict(list),
    }
    for r in records:
        if r["method"] != "POST" or r["status"] != 201:
            continue
        if found := _STATUS.search(r["path"]):
            kinds["statuses"][found["sha"], r.get("context"), r.get("state"), r.get("description")].append(r)
        elif _DEPLOYMENTS.search(r["path"]):
            kinds["deployments"][r.get("environment"), r.get("sha")].append(r)
        elif found := _DEPLOYMENT_STATUS.search(r["path"]):
            kinds["deployment statuses"][found["id"], r.get("state")].append(r)
    return kinds


def repeats(records: list[dict[str, Any]], killed: set[str]) -> tuple[list[int], int]:
    """Extra POSTs per kind (statuses, Deployments, deployment statuses), and how many of them repeated
    what a killed process (its connections: `killed`) had done."""
    extra, across = [], 0
    for done in side_effects(records).values():
        extra.append(sum(len(posts) - 1 for posts in done.values()))
        for posts in done.values():
            if any(p["client"] in killed for p in posts):
                across += sum(1 for p in posts if p["client"] not in killed)
    return extra, across


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def processing_process(pid: int) -> int:
    """The processing process of the `fluxgate connector` process `pid`: its child (spawn), or the child
    of its fork server (forkserver); never multiprocessing's resource tracker or the fork server."""
    found = []
    for child in descendants(pid):
        line = command_line(child)
        if "resource_tracker" in line:
            continue
        if "forkserver" in line:
            found += descendants(child)  # the fork server: processing is forked from it
        else:
            found.append(child)
    if len(found) != 1:
        raise RuntimeError(f"expected one processing process under {pid}, found {found or 'none'}")
    return found[0]


def group_gone(pgid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


async def send(
    url: str,
    events: list[Event],
    senders: int,
    at: int,
    crash: Callable[[], Coroutine[Any, Any, None]],
    give_up: float = 60.0,
) -> dict[int, float]:
    """Post every event until it is acknowledged; run `crash` once `at` of them are. When each event was
    acknowledged (time.time()), by index."""
    queue = list(reversed(range(len(events))))
    acked: dict[int, float] = {}
    progress = time.monotonic()
    crashing: asyncio.Task[None] | None = None
    timeout = aiohttp.ClientTimeout(total=10)
    limit = aiohttp.TCPConnector(limit=senders)
    async with aiohttp.ClientSession(connector=limit, timeout=timeout) as session:

        async def post(body: bytes) -> bool:
            try:
                async with session.post(f"{url}/flux/events", data=body, headers=signed(body)) as answer:
                    await answer.read()
                    if answer.status < 300:
                        return True
                    if answer.status < 500:
                        raise RuntimeError(f"{answer.status}: {await answer.text()}")
            except (TimeoutError, aiohttp.ClientError):
                pass  # down, or killed in the middle: send it again
            return False

        async def sender() -> None:
            nonlocal progress, crashing
            while queue:
                index = queue.pop()
                while not await post(events[index].body):
                    if time.monotonic() - progress > give_up:
                        return  # the connector is not coming back: the rest stay unacknowledged
                    await asyncio.sleep(0.05)
                acked[index] = time.time()
                progress = time.monotonic()
                if len(acked) == at and crashing is None:
                    crashing = asyncio.create_task(crash())

        await asyncio.gather(*(sender() for _ in range(senders)))
        if crashing is not None:
            await crashing
    return acked


@dataclass
class Crash:
    """When a scenario killed what (time.time(), which is also the emulator's clock)."""

    killed: float = math.inf  # `none` kills nothing
    back: float = math.inf  # the new process's start (a) or the kill (b): "back after" counts from here
    at_github: int = 0  # commit statuses GitHub had when the kill came


def scenario(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """One fresh emulated GitHub and connector, a warm-up, the stream and its kill; what GitHub got."""
    work.mkdir(parents=True)
    shas = commits(work / "gh", math.ceil(args.events / RUN / len(CLUSTERS)))
    events = stream(args.events, shas)
    github, gh_url = start_github(work / "gh", latency=args.github_latency)
    config = work / "fluxgate.yaml"
    config.write_text(CONFIG.read_text())
    port = free_port()
    url, data = f"http://127.0.0.1:{port}", work / "connector"
    logs: list[Any] = []
    processes: list[subprocess.Popen[Any]] = []
    requests, crash = RequestLog(gh_url), Crash()

    def log_file() -> Any:  # the connector's own words, kept with --keep
        logs.append((work / f"connector-{len(logs)}.log").open("wb"))
        return logs[-1]

    async def kill() -> None:
        crash.at_github = len(await asyncio.to_thread(lambda: requests.refresh() and requests.statuses()))
        if name == "a":  # the whole process group: the HTTP process and its processing process
            old = processes[-1]
            crash.killed = time.time()
            os.killpg(old.pid, signal.SIGKILL)
            await asyncio.to_thread(old.wait)
            await asyncio.to_thread(group_gone, old.pid)
            await asyncio.sleep(args.down)  # a pod's restart is not instant either
            crash.back = time.time()
            processes.append(
                subprocess.Popen(
                    connector_command(config, data, port),
                    env=connector_env(gh_url, args.workers),
                    stdout=subprocess.DEVNULL,
                    stderr=log_file(),
                    start_new_session=True,
                )
            )
        elif name == "b":  # the processing process only: the HTTP process goes on acknowledging
            child = processing_process(processes[-1].pid)
            crash.killed = crash.back = time.time()
            os.kill(child, signal.SIGKILL)

    try:
        processes.append(
            start_connector(
                config, data, port, gh_url, args.workers, stderr=log_file(), start_new_session=True
            )
        )
        warm = event("warm-up", shas[0], "dev", "dev-eu", message="Health check in progress")
        asyncio.run(send(url, [warm], 1, 0, kill))
        deadline = time.monotonic() + 60
        while not any(r["target"] == warm.target for r in requests.statuses()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the warm-up event's status never reached GitHub (logs: {work})")
            time.sleep(0.1)
            requests.refresh()
        began = time.monotonic()
        at = max(1, int(args.events * args.at))
        acked = asyncio.run(send(url, events, args.senders, at, kill))
        sent = time.monotonic()
        wanted = Counter(events[i].target for i in acked)
        arrived: dict[tuple[str, str], int] = {}
        news, drained = sent, "all arrived"
        while any(arrived.get(target, 0) < n for target, n in wanted.items()):
            if time.monotonic() - news >= args.stall:
                drained = f"stalled {args.stall:.0f} s"
                break
            if time.monotonic() - sent >= args.drain:
                drained = f"cut off at {args.drain:.0f} s"  # statuses were still arriving
                break
            time.sleep(0.5)
            requests.refresh()
            now = requests.counts()
            if now != arrived:
                news, arrived = time.monotonic(), now
        records = requests.refresh()
        statuses = requests.statuses()
        arrived = requests.counts()
        # The killed processes' connections: those answered before the kill, and any carrying a single
        # answer (one the killed process opened just before the kill, its request still in flight; the
        # new process's connections carry many).
        calls = Counter(r["client"] for r in records)
        killed = {r["client"] for r in records if r["at"] <= crash.killed or calls[r["client"]] == 1}
        fresh = [r["at"] for r in statuses if r["at"] > crash.back and r["client"] not in killed]
        extra, across = repeats(records, killed if name != "none" else set())
        # (a) counts from when the new connector answers again: what the target is about (its own
        # start-up, importing Python, depends on the machine); (b) from the kill, the HTTP side never left
        ready = crash.back
        if name == "a":
            ready = min((t for t in acked.values() if t > crash.back), default=crash.back)
        return {
            "acked": len(acked),
            "lost": sum(max(0, n - arrived.get(target, 0)) for target, n in wanted.items()),
            "repeated": extra,
            "across": across,
            "back": min(fresh) - ready if fresh else None,
            "from_restart": min(fresh) - crash.back if fresh else None,
            "acking": ready - crash.back,
            "at": at,
            "at_github": crash.at_github,
            "drained": drained,
            "seconds": time.monotonic() - began,
            "deployments": len({(e.sha, e.context.split("/")[1]) for e in events}),
        }
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        github.terminate()
        github.wait(30)
        for handle in logs:
            handle.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--workers", type=int, default=32, help="connector threads calling GitHub")
    parser.add_argument("--github-latency", type=float, default=0.0, help="seconds GitHub takes per call")
    parser.add_argument("--at", type=float, default=0.4, help="kill once this share is acknowledged")
    parser.add_argument(
        "--down", type=float, default=0.5, help="(a) seconds between the kill and the restart"
    )
    parser.add_argument("--drain", type=float, default=120, help="seconds after the last event at most")
    parser.add_argument("--stall", type=float, default=10, help="stop draining after this long without news")
    parser.add_argument("--scenarios", default="a,b", help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument("--keep", action="store_true", help="keep the data and connector logs")
    args = parser.parse_args()
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    if unknown := [n for n in names if n not in SCENARIOS]:
        parser.error(f"unknown scenario {unknown[0]!r}: expected some of {', '.join(SCENARIOS)}")
    root = Path(tempfile.mkdtemp(prefix="fluxgate-bench-crash-"))
    try:
        rows = {name: scenario(name, args, root / name) for name in names}
    finally:
        if args.keep:
            print(f"data and connector logs: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    first = next(iter(rows.values()))
    print(
        f"{args.events} events ({first['deployments']} Deployments), {args.senders} senders, "
        f"{args.workers} GitHub workers, GitHub answering in {args.github_latency * 1000:.0f} ms, "
        f"kill at {args.at:.0%} acknowledged"
    )
    print(
        f"{'scenario':<36} {'acked':>6} {'lost':>6} {'repeated':>8} {'across kill':>11} "
        f"{'statuses/deploys/deploy st.':>27} {'back after':>10}  drain"
    )
    print(f"{'targets':<36} {'':>6} {0:>6} {0:>8} {'':>11} {'':>27} {'<= 2 s':>10}")
    ok = True
    for name, r in rows.items():
        extra = r["repeated"]
        back = "-" if name == "none" else "never" if r["back"] is None else f"{r['back']:.1f} s"
        print(
            f"{SCENARIOS[name]:<36} {r['acked']:>6} {r['lost']:>6} {sum(extra):>8} {r['across']:>11} "
            f"{'/'.join(map(str, extra)):>27} {back:>10}  {r['drained']}"
        )
        ok = ok and r["acked"] == args.events and r["lost"] == 0 and sum(extra) == 0
        ok = ok and (name == "none" or (r["back"] is not None and r["back"] <= TARGET_BACK))
    for name, r in rows.items():
        if name != "none":
            acking = (
                f"acknowledging again {r['acking']:.1f} s after the restart, processing "
                f"{r['from_restart']:.1f} s after it; " if name == "a" and r["from_restart"] is not None else ""
            )
            print(
                f"{name}: killed at {r['at']} acknowledged (GitHub had {r['at_github']} statuses); {acking}"
                f"{r['seconds']:.0f} s from the first event to the end of the drain"
            )
    print("targets met" if ok else "targets NOT met: 0 lost, 0 repeated, back within 2 s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
