"""Start each flow run from a warm process, so a resumed stage continues in about a second.

Prefect's runner starts every flow run (and every resume of a suspended one) with the `spawn`
method: a fresh interpreter that imports Prefect and the flow module again, 4-6 s on a small
machine, most of a resume's latency. The `forkserver` method keeps one single-threaded helper that
has imported them once (`set_forkserver_preload`) and forks a child per run: the same isolation (one
process per run, gone when the run suspends or ends) without the imports. Prefect picks the method
inside `prefect.flow_engine.run_flow_in_subprocess`; its runner documents patching that module as
the way to change how runs start, and this changes only the method.

The helper is idle between runs (it runs no flow and holds no run's state); it is the one process
below `fluxgate serve` that is always there.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
from types import SimpleNamespace
from typing import Any

__all__ = ["FORKSERVER_MARK", "serve_flow", "use_forkserver"]

FORKSERVER_MARK = b"multiprocessing.forkserver"  # in the helper's command line


def use_forkserver(preload: list[str]) -> None:
    """Make the runner's flow processes forks of a helper that imported `preload`; start it now, so
    the first run does not pay for it either."""
    import prefect.flow_engine

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)
    multiprocessing.forkserver.ensure_running()
    prefect.flow_engine.multiprocessing = SimpleNamespace(  # type: ignore[assignment,attr-defined]
        get_context=lambda _method=None: context, context=multiprocessing.context
    )


def serve_flow(flow: Any, name: str, limit: int, poll: float) -> None:
    """Serve `flow` as deployment `name` from this process until stopped, looking for runs to start
    (new ones and resumed ones) every `poll` seconds. `flow.serve` takes its interval from
    PREFECT_RUNNER_POLL_FREQUENCY, in whole seconds only (`--poll 0.5` used to become 1), and a
    resumed stage waits half the interval on average."""
    import asyncio
    import contextlib

    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    runner = Runner(name=name, limit=limit, query_seconds=poll)
    deployment = runner.add_flow(flow, name=name)
    print(f"Serving {flow.name}/{name} ({deployment}): looking for runs every {poll:g} s", flush=True)
    with contextlib.suppress(KeyboardInterrupt, TerminationSignal):  # stopped: the runner shut down
        asyncio.run(runner.start())
