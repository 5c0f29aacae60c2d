"""What the terminal shows while the demo runs: one row per stage run, read from Prefect as the UI
would, and one row per cluster, from the events the simulated Flux sent.

On a terminal the two tables update in place (rich `Live`); in a log (CI, a pipe) each change is one
timestamped line instead, so the same run reads well in both.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fluxgate.errors import one_line
from fluxgate.sandbox.flux import FluxCluster, SentEvent
from fluxgate.stage import RunState, StageRun, Wait

__all__ = ["Board", "RunRow"]

_WAITS = {
    Wait.MERGE: "waiting for the PR's merge",
    Wait.FLUX: "waiting for Flux",
    Wait.VERIFY: "waiting for verification workflows",
    Wait.SOAK: "soaking",
}
_OUTCOMES = ("ReconciliationSucceeded", "HealthCheckFailed", "ValidationFailed", "BuildFailed")
_STYLE = {"COMPLETED": "green", "FAILED": "red", "CRASHED": "red", "CANCELLED": "yellow", "PAUSED": "cyan"}


@dataclass(frozen=True)
class RunRow:
    name: str
    state: str  # Prefect's state type: PAUSED, RUNNING, COMPLETED, ...
    step: str
    pr: str
    revision: str

    @classmethod
    def of(cls, run: StageRun) -> RunRow:
        state = run.state or RunState.SCHEDULED
        tags = run.stage
        if state == RunState.PAUSED:
            wait = run.waiting_at
            step = _WAITS[wait.wait] if wait else str(run.pause_key)
        elif state in (RunState.SCHEDULED, RunState.PENDING):
            step = "starting"
        elif state == RunState.RUNNING:
            step = "running"
        else:
            step = one_line(run.message or run.state_name or "")
        pr = f"{tags.pr.repo.rpartition('/')[2]}#{tags.pr.number}" if tags and tags.pr else ""
        return cls(run.name, state.value, step, pr, ((tags.sha if tags else None) or "")[:12])


class Board:
    def __init__(self, clusters: list[FluxCluster], started: float | None = None) -> None:
        self.started = time.monotonic() if started is None else started
        self.clusters = clusters
        self.runs: dict[str, RunRow] = {}
        self.flux: dict[str, SentEvent] = {}
        self.lines: list[str] = []  # every change, in order, timestamped from the start
        self._lock = threading.Lock()

    def _note(self, text: str) -> None:
        self.lines.append(f"{time.monotonic() - self.started:6.1f}s  {text}")

    def update_runs(self, runs: list[StageRun]) -> list[str]:
        """Take Prefect's view of the stage runs; returns the lines of what changed."""
        with self._lock:
            before = len(self.lines)
            for run in sorted(runs, key=lambda r: r.created.timestamp() if r.created else 0.0):
                row = RunRow.of(run)
                old = self.runs.get(row.name)
                if old is None or (old.state, old.step) != (row.state, row.step):
                    self._note(f"{row.name}: {row.step}")
                self.runs[row.name] = row
            return self.lines[before:]

    def flux_event(self, event: SentEvent) -> None:
        """The simulated Flux's callback (its own thread)."""
        with self._lock:
            self.flux[event.cluster] = event
            if event.reason in _OUTCOMES:
                self._note(f"Flux {event.cluster}: {event.reason} at {event.revision[:12]}")

    def note(self, text: str) -> None:
        with self._lock:
            self._note(text)

    def __rich__(self) -> Group:
        with self._lock:
            stages = Table("stage run", "state", "step", "PR", "revision", title="Prefect: stage runs",
                           title_justify="left", expand=True)  # fmt: skip
            for row in self.runs.values():
                style = _STYLE.get(row.state, "")
                stages.add_row(Text(row.name), Text(row.state.lower(), style=style), Text(row.step),
                               row.pr, row.revision)  # fmt: skip
            flux = Table("cluster", "env", "last event", "revision", title="Flux (simulated): last event per "
                         "cluster", title_justify="left", expand=True)  # fmt: skip
            for cluster in self.clusters:
                event = self.flux.get(cluster.cluster)
                if event is None:
                    flux.add_row(cluster.cluster, cluster.env, "[dim]nothing applied yet[/]", "")
                    continue
                text = Text(f"{event.reason}: {event.message.splitlines()[0]}",
                            style="red" if event.severity == "error" else "")  # fmt: skip
                flux.add_row(cluster.cluster, cluster.env, text, event.revision[:12])
            elapsed = f"[dim]{time.monotonic() - self.started:.0f} s[/]"
            return Group(stages, flux, elapsed)
