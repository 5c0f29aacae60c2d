"""Start each flow run from a warm process, so a resumed stage continues in about a second.

Prefect's runner starts every flow run (and every resume of a suspended one) with the `spawn`
method: a fresh interpreter that imports Prefect and the flow module again, 4-6 s on a small
machine, most of a resume's latency. The `forkserver` method keeps one single-threaded helper that
has imported them once (`set_forkserver_preload`) and forks a child per run: the same isolation (one
process per run, gone when the run suspends or ends) without the imports. Prefect picks the method
inside `prefect.flow_engine.run_flow_in_subprocess`; its runner documents patching that module as
the way to change how runs start, and this changes only the method (and what each child does first,
`_flow_process`).

The helper is idle between runs (it runs no flow and holds no run's state); it is the one process
below `fluxgate serve` that is always there.

The runner finds runs to start by polling, which alone made a resumed stage wait half an interval
on average; `serve_flow` also has it look the moment Prefect announces one (`_look_when_scheduled`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uuid import UUID

    from prefect.runner import Runner

__all__ = ["FORKSERVER_MARK", "serve_flow", "use_forkserver"]

FORKSERVER_MARK = b"multiprocessing.forkserver"  # in the helper's command line

# What every run imports after it starts (Prefect imports them lazily: the engine when the child
# unpickles what it runs, the rest from the first task on): in the helper, so that no child pays
# for them again. A name a later Prefect drops is skipped there.
RUN_IMPORTS = [
    "prefect.flow_engine",
    "anyio._backends._asyncio",
    "prefect.task_engine",
    "prefect.utilities.visualization",
    "prefect._internal.observers",
    "prefect.concurrency._asyncio",
]

# Prefect's state names of runs that are due to start (SCHEDULED state type): new, resumed, retried.
STARTABLE = ("Scheduled", "Resuming", "AwaitingRetry")
# After a run is announced, the runner looks for it every LOOK_AGAIN seconds until it is Pending
# (started) or LOOK_AGAIN_FOR seconds have passed: the event is sent before the server commits the
# state it announces, and a run that suspended a moment ago may still be leaving its last process
# (the runner starts no run twice at once). Each look is one small query; the poll stays the
# fallback.
LOOK_AGAIN = 0.1
LOOK_AGAIN_FOR = 1.0
RESUBSCRIBE = 10.0  # seconds before subscribing again when Prefect's event stream is unavailable


def use_forkserver(preload: list[str]) -> None:
    """Make the runner's flow processes forks of a helper that imported `preload`; start it now, so
    the first run does not pay for it either.

    `preload` names what the program's main script imports as well: multiprocessing prepares each
    child by running that script again (as `__mp_main__`), and what it imports is then already
    there (for `fluxgate serve`, the whole CLI: a tenth of a second per run otherwise). Preloading
    `"__main__"` itself does not do it on Python 3.11: the helper is never told the script's path."""
    import prefect.flow_engine

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*preload, *RUN_IMPORTS])
    multiprocessing.forkserver.ensure_running()
    forks = _FlowProcesses(context)
    prefect.flow_engine.multiprocessing = SimpleNamespace(  # type: ignore[assignment,attr-defined]
        get_context=lambda _method=None: forks, context=multiprocessing.context
    )


class _FlowProcesses:
    """The forkserver context as `run_flow_in_subprocess` uses it, each process entering through
    `_flow_process` (a module function: the helper unpickles it by name)."""

    def __init__(self, context: multiprocessing.context.ForkServerContext) -> None:
        self._context = context

    def Process(
        self, target: Callable[..., Any], args: tuple[Any, ...] = (), **kwargs: Any
    ) -> multiprocessing.context.ForkServerProcess:
        return self._context.Process(target=_flow_process, args=(target, *args), **kwargs)


def _flow_process(target: Callable[..., Any], *args: Any) -> Any:
    """What a flow process does before Prefect runs the flow in it.

    Prefect's flow heartbeat thread sleeps in whole seconds and the sync engine joins it when the run
    leaves (a suspension too), so each suspended run's process outlived its suspension by half a
    second on average, and the runner starts no run while its last process is alive: a stage
    resumed in that time waited for it. Prefect's async engine leaves the thread unjoined, which is
    safe (it sends nothing once told to stop, and it is a daemon thread); this does the same."""
    import functools
    import inspect

    import prefect.flow_engine as engine

    heartbeats = getattr(engine, "_send_heartbeats", None)
    if heartbeats is not None and "join_on_exit" in inspect.signature(heartbeats).parameters:
        engine._send_heartbeats = functools.partial(heartbeats, join_on_exit=False)
    return target(*args)


def serve_flow(flow: Any, name: str, limit: int, poll: float) -> None:
    """Serve `flow` as deployment `name` from this process until stopped, starting runs (new ones and
    resumed ones) as Prefect announces them, and looking for any it missed every `poll` seconds.
    `flow.serve` takes its interval from PREFECT_RUNNER_POLL_FREQUENCY, in whole seconds only
    (`--poll 0.5` used to become 1)."""
    import asyncio
    import contextlib

    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    runner = Runner(name=name, limit=limit, query_seconds=poll)
    deployment: Any = runner.add_flow(flow, name=name)  # its id (the sync call)
    print(
        f"Serving {flow.name}/{name} ({deployment}): starting runs as Prefect announces them, "
        f"looking for any missed every {poll:g} s",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt, TerminationSignal):  # stopped: the runner shut down
        asyncio.run(_serve(runner, deployment))


async def _serve(runner: Runner, deployment: UUID) -> None:
    import asyncio
    import contextlib

    watcher = asyncio.create_task(_look_when_scheduled(runner, deployment))
    try:
        await runner.start()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _look_when_scheduled(runner: Runner, deployment: UUID) -> None:
    """Have `runner` look for runs to start whenever Prefect's event stream announces that one of
    `deployment` is due (`STARTABLE`), so a resumed stage starts within tens of milliseconds instead
    of at the next poll. Runs announced together make one look; when the stream is unavailable (a
    server without it, a restart) the runner polls only, as Prefect's own runner does. Starting a
    run twice is not possible this way either: the runner skips runs it is starting, and the server
    lets only one look move a run from Scheduled to Pending."""
    import asyncio
    import contextlib

    from prefect.events.clients import get_events_subscriber
    from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter
    from prefect.logging import get_logger

    log = get_logger("fluxgate.runner")
    announced = EventFilter(
        event=EventNameFilter(name=[f"prefect.flow-run.{state}" for state in (*STARTABLE, "Pending")]),
        related=EventRelatedFilter(id=[f"prefect.deployment.{deployment}"]),
    )
    loop = asyncio.get_running_loop()
    waiting: dict[str, float] = {}  # announced runs not started yet -> when to stop looking for them
    due = asyncio.Event()

    async def look() -> None:
        while True:
            await due.wait()
            due.clear()
            while waiting:
                if runner.started:
                    try:
                        await runner._get_and_submit_flow_runs()  # type: ignore[no-untyped-call]
                    except Exception as error:  # the poll finds the run then: this is the fast path
                        log.debug("looking for announced runs failed: %r", error)
                with contextlib.suppress(TimeoutError):  # a new announcement: look at once
                    await asyncio.wait_for(due.wait(), timeout=LOOK_AGAIN)
                due.clear()
                for run, until in list(waiting.items()):
                    if loop.time() >= until:
                        del waiting[run]

    looker = asyncio.create_task(look())
    try:
        while True:
            try:
                async with get_events_subscriber(filter=announced) as events:
                    async for event in events:
                        if event.event == "prefect.flow-run.Pending":
                            waiting.pop(event.resource.id, None)
                        else:
                            waiting[event.resource.id] = loop.time() + LOOK_AGAIN_FOR
                            due.set()
            except Exception as error:
                log.debug("Prefect's event stream is unavailable (%r): polling only for now", error)
            await asyncio.sleep(RESUBSCRIBE)
    finally:
        looker.cancel()
