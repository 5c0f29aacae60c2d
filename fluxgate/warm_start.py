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

__all__ = ["FORKSERVER_MARK", "use_forkserver"]

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
