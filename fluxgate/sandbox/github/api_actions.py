"""GitHub Actions, as far as a deployment pipeline drives it: dispatch a workflow, read workflows and runs.

A dispatch checks what GitHub checks (the workflow exists on the default branch, the ref is a branch or
tag, the file there has an `on: workflow_dispatch` trigger accepting the inputs), records a queued run on
the ref's head and sends `workflow_dispatch` and `workflow_run` (`requested`) webhooks. No job runs:
`Emulator.complete_workflow_run` finishes a run, as the tests and the demo decide.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from starlette.routing import Route

from fluxgate.sandbox.github import workflows
from fluxgate.sandbox.github.errors import ApiError, not_found, unprocessable
from fluxgate.sandbox.github.http import Call, endpoint
from fluxgate.sandbox.github.payloads import workflow_dispatch_payload, workflow_run_payload
from fluxgate.sandbox.github.state import RepoRecord, WorkflowRecord, WorkflowRunRecord, now

__all__ = ["routes"]


def _workflow(call: Call) -> WorkflowRecord:
    record, git = call.repo()
    known = {path: w.name for path, w in record.workflows.items()}
    found = workflows.find(call.emulator.state, record, git, call.params["workflow_id"])
    if {path: w.name for path, w in record.workflows.items()} != known:
        call.emulator.save()  # a workflow seen for the first time (even by a GET) keeps its id
    if found is None:
        raise not_found()
    return found


def _run_body(call: Call, record: RepoRecord, run: WorkflowRunRecord) -> dict[str, Any]:
    commit = call.emulator.git(record).read_commit(run.head_sha)
    return call.urls.workflow_run(record, run, commit, call.emulator.user(run.actor),
                                  call.emulator.user(record.owner))


def dispatch_workflow(call: Call) -> tuple[int, Any]:
    record, git = call.writing()
    workflow = _workflow(call)
    ref = call.field("ref", str)
    inputs: dict[str, Any] = call.field("inputs", dict, {}) or {}
    details = call.field("return_run_details", bool, False)
    refs = git.refs()
    full = next((c for c in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}")
                 if c.startswith(("refs/heads/", "refs/tags/")) and c in refs), None)
    sha = git.resolve(full) if full else None  # a commit sha is not a ref here, as on GitHub
    if full is None or sha is None:
        raise unprocessable(f"No ref found for: {ref}")
    spec = workflows.spec_at(git, sha, workflow.path)
    if spec is None or not spec.dispatchable:
        raise unprocessable("Workflow does not have 'workflow_dispatch' trigger")
    workflows.check_inputs(spec, inputs)
    stamp = now()
    run = WorkflowRunRecord(
        id=call.emulator.state.take_id(), workflow_id=workflow.id, path=workflow.path, name=spec.name,
        run_number=1 + sum(r.workflow_id == workflow.id for r in record.workflow_runs.values()),
        event="workflow_dispatch", status="queued", conclusion=None,
        head_branch=full.removeprefix("refs/heads/").removeprefix("refs/tags/"), head_sha=sha, inputs=inputs,
        actor=call.actor, check_suite_id=call.emulator.state.take_id(), created_at=stamp, updated_at=stamp,
    )
    record.workflow_runs[run.id] = run
    emulator = call.emulator
    emulator.emit(record, "workflow_dispatch",
                  workflow_dispatch_payload(emulator, record, workflow, full, inputs, call.actor))
    emulator.emit(record, "workflow_run", workflow_run_payload(emulator, record, workflow, run, "requested"))
    if not details:
        return 204, None
    body = _run_body(call, record, run)
    return 200, {"workflow_run_id": run.id, "run_url": body["url"], "html_url": body["html_url"]}


def get_workflow(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    return 200, call.urls.workflow(record, _workflow(call))


def _moment(text: str, end: bool) -> datetime:
    """A date-time, or a whole day (its first or last second), in GitHub's search syntax."""
    if "T" in text:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.combine(date.fromisoformat(text), time.max if end else time.min, UTC)


def _created(query: str) -> tuple[float, float]:
    """The range `created` names: `>=X`, `>X`, `<=X`, `<X`, `X..Y` (`*` open), or the day or moment `X`."""
    lowest, highest = float("-inf"), float("inf")
    try:
        if ".." in query:
            low, _, high = query.partition("..")
            if low != "*":
                lowest = _moment(low, end=False).timestamp()
            if high != "*":
                highest = _moment(high, end=True).timestamp()
        elif query.startswith(">="):
            lowest = _moment(query[2:], end=False).timestamp()
        elif query.startswith(">"):
            lowest = _moment(query[1:], end=True).timestamp() + 1e-6
        elif query.startswith("<="):
            highest = _moment(query[2:], end=True).timestamp()
        elif query.startswith("<"):
            highest = _moment(query[1:], end=False).timestamp() - 1e-6
        else:
            lowest, highest = _moment(query, end=False).timestamp(), _moment(query, end=True).timestamp()
    except ValueError as exc:
        raise ApiError(422, f"Invalid request.\n\nFor 'created', \"{query}\" is not a valid value.") from exc
    return lowest, highest


def _number(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _list_runs(call: Call, workflow: WorkflowRecord | None) -> tuple[int, Any]:
    record, _ = call.repo()
    q = call.query
    lowest, highest = _created(q["created"]) if q.get("created") else (float("-inf"), float("inf"))
    found = [
        run for run in sorted(record.workflow_runs.values(), key=lambda r: -r.id)
        if (workflow is None or run.workflow_id == workflow.id)
        and q.get("event") in (None, run.event) and q.get("branch") in (None, run.head_branch)
        and q.get("head_sha") in (None, run.head_sha) and q.get("actor") in (None, run.actor)
        and q.get("status") in (None, run.status, run.conclusion)
        and q.get("check_suite_id") in (None, str(run.check_suite_id))
        and lowest <= run.created_at <= highest
    ]
    per_page = min(max(_number(q.get("per_page"), 30), 1), 100)
    page = max(_number(q.get("page"), 1), 1)
    shown = found[(page - 1) * per_page:page * per_page]
    return 200, {"total_count": len(found), "workflow_runs": [_run_body(call, record, r) for r in shown]}


def list_runs(call: Call) -> tuple[int, Any]:
    return _list_runs(call, None)


def list_workflow_runs(call: Call) -> tuple[int, Any]:
    return _list_runs(call, _workflow(call))


def get_run(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    run = record.workflow_runs.get(int(call.params["run_id"]))
    if run is None:
        raise not_found()
    return 200, _run_body(call, record, run)


R = "/repos/{owner}/{repo}/actions"
routes = [
    Route(R + "/workflows/{workflow_id}/dispatches", endpoint(dispatch_workflow), methods=["POST"]),
    Route(R + "/workflows/{workflow_id}", endpoint(get_workflow), methods=["GET"]),
    Route(R + "/workflows/{workflow_id}/runs", endpoint(list_workflow_runs), methods=["GET"]),
    Route(R + "/runs", endpoint(list_runs), methods=["GET"]),
    Route(R + "/runs/{run_id:int}", endpoint(get_run), methods=["GET"]),
]
