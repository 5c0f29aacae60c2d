"""What tools report back on commits: commit statuses, Deployments and their statuses, Check Runs,
and repository_dispatch events."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from fluxgate.sandbox.github.errors import ApiError, not_found, unprocessable
from fluxgate.sandbox.github.http import Call, endpoint
from fluxgate.sandbox.github.payloads import (
    deployment_payload,
    deployment_status_payload,
    dispatch_payload,
    status_payload,
)
from fluxgate.sandbox.github.state import (
    CheckRunRecord,
    DeploymentRecord,
    DeploymentStatusRecord,
    DispatchRecord,
    StatusRecord,
    now,
)

__all__ = ["routes"]

STATUS_STATES = {"error", "failure", "pending", "success"}
DEPLOYMENT_STATES = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
CHECK_STATUSES = {"queued", "in_progress", "completed"}  # waiting/requested/pending are GitHub Actions' own
CHECK_CONCLUSIONS = {"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale",
                     "timed_out"}


def _commit(call: Call, ref: str) -> str:
    _, git = call.repo()
    sha = git.resolve(ref)
    if sha is None:
        raise unprocessable(f"No commit found for SHA: {ref}")
    return sha


def create_status(call: Call) -> tuple[int, Any]:
    record, _ = call.writing()
    sha = _commit(call, call.params["sha"])
    state = call.field("state", str)
    if state not in STATUS_STATES:
        raise unprocessable("Validation Failed", resource="Status", field="state", code="custom",
                            message=f"state is not included in the list: {sorted(STATUS_STATES)}")
    description = call.field("description", str, None)
    if description is not None and len(description) > 140:
        raise unprocessable("Validation Failed", resource="Status", field="description", code="custom",
                            message="description is too long (maximum is 140 characters)")
    stamp = now()
    status = StatusRecord(id=call.emulator.state.take_id(), sha=sha, state=state,
                          context=call.field("context", str, "default"), description=description,
                          target_url=call.field("target_url", str, None), creator=call.actor,
                          created_at=stamp, updated_at=stamp)
    record.statuses.append(status)
    call.emulator.emit(record, "status", status_payload(call.emulator, record, status))
    return 201, call.urls.status(record, status, call.emulator.user(call.actor))


def _latest(statuses: list[StatusRecord], sha: str) -> list[StatusRecord]:
    latest: dict[str, StatusRecord] = {}
    for status in statuses:
        if status.sha == sha:
            latest[status.context] = status
    return list(latest.values())


def combined_status(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    sha = _commit(call, call.params["ref"])
    return 200, call.urls.combined_status(record, sha, _latest(record.statuses, sha),
                                          call.emulator.user(record.owner))


def list_statuses(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    sha = _commit(call, call.params["ref"])
    found = [s for s in reversed(record.statuses) if s.sha == sha]
    return 200, [call.urls.status(record, s, call.emulator.user(s.creator)) for s in found]


def create_deployment(call: Call) -> tuple[int, Any]:
    record, git = call.writing()
    ref = call.field("ref", str)
    sha = _commit(call, ref)
    default_head = git.ref(f"refs/heads/{record.default_branch}")
    if call.field("auto_merge", bool, True) and default_head and not git.is_ancestor(default_head, sha):
        # GitHub would merge the default branch into `ref` first; the sandbox does not emulate that.
        raise ApiError(409, f"Conflict merging {record.default_branch} into {ref}.")
    required = call.field("required_contexts", list, None)
    if required is None or required:
        latest = {s.context: s.state for s in _latest(record.statuses, sha)}
        wanted = required if required is not None else list(latest)
        failing = [c for c in wanted if latest.get(c) != "success"]
        if failing:
            raise ApiError(409, f"Conflict: Commit status checks failed for {ref}.",
                           [{"contexts": [{"context": c, "state": latest.get(c, "missing")} for c in failing],
                             "resource": "Deployment", "field": "required_contexts", "code": "invalid"}])
    environment = call.field("environment", str, "production")
    stamp = now()
    deployment = DeploymentRecord(
        id=call.emulator.state.take_id(), sha=sha, ref=ref, task=call.field("task", str, "deploy"),
        payload=call.field("payload", (dict, str), {}) or {}, environment=environment,
        description=call.field("description", str, None), creator=call.actor,
        transient_environment=bool(call.field("transient_environment", bool, False)),
        production_environment=bool(call.field("production_environment", bool, environment == "production")),
        created_at=stamp, updated_at=stamp,
    )
    record.deployments[deployment.id] = deployment
    call.emulator.emit(record, "deployment", deployment_payload(call.emulator, record, deployment))
    return 201, call.urls.deployment(record, deployment, call.emulator.user(call.actor))


def list_deployments(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    wanted = {k: call.query.get(k) for k in ("sha", "ref", "task", "environment")}
    found = [
        d for d in sorted(record.deployments.values(), key=lambda d: -d.id)
        if all(v is None or getattr(d, k) == v for k, v in wanted.items())
    ]
    return 200, [call.urls.deployment(record, d, call.emulator.user(d.creator)) for d in found]


def _deployment(call: Call) -> DeploymentRecord:
    record, _ = call.repo()
    found = record.deployments.get(int(call.params["deployment_id"]))
    if found is None:
        raise not_found()
    return found


def get_deployment(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    d = _deployment(call)
    return 200, call.urls.deployment(record, d, call.emulator.user(d.creator))


def create_deployment_status(call: Call) -> tuple[int, Any]:
    record, _ = call.writing()
    d = _deployment(call)
    state = call.field("state", str)
    if state not in DEPLOYMENT_STATES:
        raise unprocessable("Validation Failed", resource="DeploymentStatus", field="state", code="invalid")
    if len(call.field("description", str, "") or "") > 140:
        raise unprocessable("Validation Failed", resource="DeploymentStatus", field="description",
                            code="custom", message="description is too long (maximum is 140 characters)")
    status = DeploymentStatusRecord(
        id=call.emulator.state.take_id(), state=state, description=call.field("description", str, "") or "",
        environment=call.field("environment", str, d.environment) or d.environment,
        environment_url=call.field("environment_url", str, "") or "",
        log_url=call.field("log_url", str, "") or "",
        target_url=call.field("log_url", str, "") or call.field("target_url", str, "") or "",
        creator=call.actor, created_at=now(),
    )
    d.statuses.append(status)
    d.updated_at = status.created_at
    if state == "success" and call.field("auto_inactive", bool, True):
        for other in record.deployments.values():
            last = other.statuses[-1] if other.statuses else None
            if (other.id != d.id and other.environment == d.environment and not other.transient_environment
                    and last is not None and last.state == "success"):
                inactive = last.model_copy(update={"id": call.emulator.state.take_id(), "state": "inactive",
                                                   "created_at": now(), "description": ""})
                other.statuses.append(inactive)
    payload = deployment_status_payload(call.emulator, record, d, status)
    call.emulator.emit(record, "deployment_status", payload)
    return 201, call.urls.deployment_status(record, d, status, call.emulator.user(call.actor))


def list_deployment_statuses(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    d = _deployment(call)
    return 200, [call.urls.deployment_status(record, d, s, call.emulator.user(s.creator))
                 for s in reversed(d.statuses)]


def _app_of(call: Call) -> tuple[int, str] | None:
    login = call.actor
    for app in call.emulator.state.apps.values():
        if login == f"{app.slug}[bot]":
            return app.id, app.slug
    return None


def _check_body(call: Call, check: CheckRunRecord) -> dict[str, Any]:
    record, _ = call.repo()
    app = next((a for a in call.emulator.state.apps.values() if a.slug == check.app_slug), None)
    app_body = call.urls.app(app.id, app.slug, call.emulator.user(record.owner)) if app else None
    return call.urls.check_run(record, check, app_body)


def _apply_check_fields(call: Call, check: CheckRunRecord) -> None:
    status = call.field("status", str, check.status)
    conclusion = call.field("conclusion", str, None)
    if status not in CHECK_STATUSES:
        raise unprocessable("Validation Failed", resource="CheckRun", field="status", code="invalid")
    if conclusion is not None and conclusion not in CHECK_CONCLUSIONS:
        raise unprocessable("Validation Failed", resource="CheckRun", field="conclusion", code="invalid")
    if status == "completed" and conclusion is None and check.conclusion is None:
        raise unprocessable("Invalid request.\n\n\"conclusion\" wasn't supplied.")  # completed needs one
    check.status = status
    if conclusion is not None:
        check.conclusion, check.status = conclusion, "completed"
    if check.status == "completed" and check.completed_at is None:
        check.completed_at = now()
    output = call.field("output", dict, None)
    if output is not None:
        check.title, check.summary = output.get("title"), output.get("summary")
        check.text = output.get("text")
    check.details_url = call.field("details_url", str, check.details_url)
    check.external_id = call.field("external_id", str, check.external_id)


def create_check_run(call: Call) -> tuple[int, Any]:
    record, _ = call.writing()
    app = _app_of(call)
    if app is None:
        raise ApiError(403, "You must authenticate via a GitHub App.")
    check = CheckRunRecord(
        id=call.emulator.state.take_id(), name=call.field("name", str),
        head_sha=_commit(call, call.field("head_sha", str)),
        status="queued", conclusion=None, external_id=None, details_url=None, title=None, summary=None,
        text=None, started_at=now(), completed_at=None, app_slug=app[1],
    )
    _apply_check_fields(call, check)
    record.check_runs[check.id] = check
    return 201, _check_body(call, check)


def update_check_run(call: Call) -> tuple[int, Any]:
    record, _ = call.writing()
    check = record.check_runs.get(int(call.params["check_run_id"]))
    if check is None:
        raise not_found()
    app = _app_of(call)
    if app is None or app[1] != check.app_slug:  # only the app that created a check run may change it
        raise ApiError(403, "You must authenticate via a GitHub App.")
    _apply_check_fields(call, check)
    return 200, _check_body(call, check)


def get_check_run(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    check = record.check_runs.get(int(call.params["check_run_id"]))
    if check is None:
        raise not_found()
    return 200, _check_body(call, check)


def dispatch(call: Call) -> tuple[int, Any]:
    record, _ = call.writing()
    event_type = call.field("event_type", str)
    if not event_type or len(event_type) > 100:
        raise unprocessable("Invalid request.\n\nevent_type must be 1 to 100 characters.")
    payload = call.field("client_payload", dict, {}) or {}
    if len(payload) > 10:
        raise unprocessable("Invalid request.\n\nclient_payload can have at most 10 top-level properties.")
    record.dispatches.append(DispatchRecord(event_type=event_type, client_payload=payload, sender=call.actor,
                                            at=now()))
    call.emulator.emit(record, "repository_dispatch",
                       dispatch_payload(call.emulator, record, event_type, payload, call.actor))
    return 204, None


R = "/repos/{owner}/{repo}"
D = R + "/deployments/{deployment_id:int}"
routes = [
    Route(R + "/statuses/{sha}", endpoint(create_status), methods=["POST"]),
    Route(R + "/commits/{ref:path}/status", endpoint(combined_status), methods=["GET"]),
    Route(R + "/commits/{ref:path}/statuses", endpoint(list_statuses), methods=["GET"]),
    Route(R + "/deployments", endpoint(create_deployment), methods=["POST"]),
    Route(R + "/deployments", endpoint(list_deployments), methods=["GET"]),
    Route(R + "/deployments/{deployment_id:int}", endpoint(get_deployment), methods=["GET"]),
    Route(D + "/statuses", endpoint(create_deployment_status), methods=["POST"]),
    Route(D + "/statuses", endpoint(list_deployment_statuses), methods=["GET"]),
    Route(R + "/check-runs", endpoint(create_check_run), methods=["POST"]),
    Route(R + "/check-runs/{check_run_id:int}", endpoint(update_check_run), methods=["PATCH"]),
    Route(R + "/check-runs/{check_run_id:int}", endpoint(get_check_run), methods=["GET"]),
    Route(R + "/dispatches", endpoint(dispatch), methods=["POST"]),
]
