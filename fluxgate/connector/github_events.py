"""GitHub webhook deliveries as typed facts: the few fields fluxgate acts on, checked, nothing more.

The connector's GitHub endpoint calls `parse_github_event(X-GitHub-Event, raw body)` on every (already
verified) delivery. A merged or closed promotion PR becomes the merge result a waiting stage resumes
with; reviews, pushes, workflow runs and dispatches become facts the reconcilers can record. A pull
request, a review and a workflow run are the same models the REST gateway returns
(`fluxgate.github.models`); a fact adds only what the delivery says about the event (`action`). Events
fluxgate does not act on give None without their payload being read; a payload of a handled event
that lacks a field we read gives `EventRejected` naming its JSON path (`pull_request.number: missing`).

Payload shapes follow GitHub's documented examples (npm `@octokit/webhooks-examples`); only JSON
deliveries are read (a hook must use content type `application/json`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from fluxgate.connector.errors import EventRejected, json_object, rejected_from
from fluxgate.github import Promotion, PullRequest, Review, ReviewState, WorkflowRun, read_marker

__all__ = [
    "HANDLED_EVENTS",
    "CheckFact",
    "DispatchFact",
    "EventRejected",
    "Fact",
    "PingFact",
    "PullRequestFact",
    "PushFact",
    "ReleaseFact",
    "ReviewFact",
    "WorkflowRunFact",
    "parse_github_event",
]

_FACT = ConfigDict(frozen=True, extra="forbid")
_WIRE = ConfigDict(strict=True, extra="ignore")


# --- facts -----------------------------------------------------------------------------------------


class PullRequestFact(BaseModel):
    """A pull_request delivery. The PR's `merge_sha` is set only once merged (GitHub fills the field
    with a test merge before); `closed_by` is who closed it (for a PR closed unmerged, the one who
    rejected the promotion)."""

    model_config = _FACT

    action: str
    pull_request: PullRequest
    closed_by: str | None = None
    kind: Literal["pull_request"] = "pull_request"

    @property
    def repo(self) -> str:
        return self.pull_request.repo


class ReviewFact(BaseModel):
    """A pull_request_review delivery: the review (state upper-case, as the REST API spells it) on
    PR `number`, and the promotion that PR carries."""

    model_config = _FACT

    repo: str
    number: int
    review: Review
    promotion: Promotion | None
    action: str = "submitted"
    kind: Literal["pull_request_review"] = "pull_request_review"


class PushFact(BaseModel):
    """A push delivery: `ref` is the full ref (`refs/heads/main`); a zero `before`/`after` = create/delete."""

    model_config = _FACT

    repo: str
    ref: str
    before: str
    after: str
    pusher: str
    kind: Literal["push"] = "push"


class WorkflowRunFact(BaseModel):
    """A workflow_run delivery: `requested`, `in_progress` or `completed`, and the run."""

    model_config = _FACT

    action: str
    run: WorkflowRun
    kind: Literal["workflow_run"] = "workflow_run"

    @property
    def repo(self) -> str:
        return self.run.repo


class ReleaseFact(BaseModel):
    """A release delivery: a tag published (or edited, deleted...) as a GitHub Release."""

    model_config = _FACT

    repo: str
    action: str
    tag: str
    draft: bool
    prerelease: bool
    url: str | None
    kind: Literal["release"] = "release"


class DispatchFact(BaseModel):
    """A repository_dispatch delivery; GitHub sends the dispatch's `event_type` as `action`."""

    model_config = _FACT

    repo: str
    event_type: str
    client_payload: dict[str, Any]
    kind: Literal["repository_dispatch"] = "repository_dispatch"


class CheckFact(BaseModel):
    """A `status` or `check_suite` delivery: a check on a commit reached `state`.

    `passed` is True for a successful status or a check suite concluded success, neutral or skipped
    (what branch protection accepts); an auto-merging stage tries its merge again on it.
    """

    model_config = _FACT

    repo: str
    sha: str
    name: str
    state: str
    passed: bool
    kind: Literal["status", "check_suite"] = "status"


class PingFact(BaseModel):
    """The ping GitHub sends when a hook is created; `repo` is None for organisation hooks."""

    model_config = _FACT

    repo: str | None
    hook_id: int | None
    kind: Literal["ping"] = "ping"


Fact: TypeAlias = (
    PullRequestFact
    | ReviewFact
    | PushFact
    | WorkflowRunFact
    | ReleaseFact
    | DispatchFact
    | CheckFact
    | PingFact
)


# --- the parts of GitHub's payloads we read ----------------------------------------------------------


class _Wire(BaseModel):
    model_config = _WIRE


class _Repository(_Wire):
    full_name: str


class _User(_Wire):
    login: str


class _Branch(_Wire):
    ref: str
    sha: str


class _PullRequest(_Wire):
    number: int
    html_url: str
    title: str
    state: Literal["open", "closed"]
    body: str | None = None
    merged: bool | None = None
    merge_commit_sha: str | None = None
    merged_by: _User | None = None
    head: _Branch
    base: _Branch


class _PullRequestEvent(_Wire):
    action: str
    repository: _Repository
    pull_request: _PullRequest
    sender: _User | None = None


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


class _Review(_Wire):
    state: Annotated[ReviewState, BeforeValidator(_upper)]  # webhooks spell it lower-case
    user: _User | None = None
    commit_id: str | None = None


class _ReviewedPullRequest(_Wire):
    number: int
    body: str | None = None


class _ReviewEvent(_Wire):
    action: str
    repository: _Repository
    review: _Review
    pull_request: _ReviewedPullRequest


class _Pusher(_Wire):
    name: str


class _PushEvent(_Wire):
    ref: str
    before: str
    after: str
    repository: _Repository
    pusher: _Pusher


class _WorkflowRun(_Wire):
    id: int
    name: str | None = None
    path: str | None = None  # absent from some of GitHub's own examples
    event: str
    status: str | None = None
    conclusion: str | None = None
    head_sha: str
    head_branch: str | None = None
    html_url: str
    created_at: str


class _WorkflowRunEvent(_Wire):
    action: str
    repository: _Repository
    workflow_run: _WorkflowRun


class _Release(_Wire):
    tag_name: str
    draft: bool = False
    prerelease: bool = False
    html_url: str | None = None


class _ReleaseEvent(_Wire):
    action: str
    repository: _Repository
    release: _Release
    sender: _User | None = None


class _DispatchEvent(_Wire):
    action: str
    repository: _Repository
    client_payload: dict[str, Any] | None = None


class _StatusEvent(_Wire):
    sha: str
    context: str
    state: str
    repository: _Repository


class _CheckSuite(_Wire):
    head_sha: str
    status: str | None = None
    conclusion: str | None = None


class _CheckSuiteEvent(_Wire):
    action: str
    repository: _Repository
    check_suite: _CheckSuite


class _PingEvent(_Wire):
    hook_id: int | None = None
    repository: _Repository | None = None


def _pull_request(data: dict[str, Any]) -> Fact:
    event = _PullRequestEvent.model_validate(data)
    pr = event.pull_request
    merged = bool(pr.merged)
    return PullRequestFact(
        action=event.action,
        pull_request=PullRequest(
            repo=event.repository.full_name,
            number=pr.number,
            url=pr.html_url,
            title=pr.title,
            state=pr.state,
            merged=merged,
            merge_sha=pr.merge_commit_sha if merged else None,
            merged_by=pr.merged_by.login if merged and pr.merged_by else None,
            head_branch=pr.head.ref,
            head_sha=pr.head.sha,
            base_branch=pr.base.ref,
            promotion=read_marker(pr.body),
        ),
        closed_by=event.sender.login if event.sender and event.action == "closed" else None,
    )


def _review(data: dict[str, Any]) -> Fact:
    event = _ReviewEvent.model_validate(data)
    review = event.review
    return ReviewFact(
        repo=event.repository.full_name,
        number=event.pull_request.number,
        action=event.action,
        review=Review(
            user=review.user.login if review.user else None, state=review.state, commit=review.commit_id
        ),
        promotion=read_marker(event.pull_request.body),
    )


def _push(data: dict[str, Any]) -> Fact:
    event = _PushEvent.model_validate(data)
    return PushFact(
        repo=event.repository.full_name,
        ref=event.ref,
        before=event.before,
        after=event.after,
        pusher=event.pusher.name,
    )


def _workflow_run(data: dict[str, Any]) -> Fact:
    event = _WorkflowRunEvent.model_validate(data)
    run = event.workflow_run
    return WorkflowRunFact(
        action=event.action,
        run=WorkflowRun(
            repo=event.repository.full_name,
            id=run.id,
            name=run.name,
            path=run.path,
            event=run.event,
            head_branch=run.head_branch,
            head_sha=run.head_sha,
            status=run.status,
            conclusion=run.conclusion,
            html_url=run.html_url,
            created_at=_time(run.created_at, "workflow_run.created_at"),
        ),
    )


def _time(text: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise EventRejected(f"{field}: expected an ISO 8601 time") from None


def _release(data: dict[str, Any]) -> Fact:
    event = _ReleaseEvent.model_validate(data)
    return ReleaseFact(
        repo=event.repository.full_name,
        action=event.action,
        tag=event.release.tag_name,
        draft=event.release.draft,
        prerelease=event.release.prerelease,
        url=event.release.html_url,
    )


def _dispatch(data: dict[str, Any]) -> Fact:
    event = _DispatchEvent.model_validate(data)
    return DispatchFact(
        repo=event.repository.full_name, event_type=event.action, client_payload=event.client_payload or {}
    )


def _status(data: dict[str, Any]) -> Fact:
    event = _StatusEvent.model_validate(data)
    return CheckFact(
        repo=event.repository.full_name,
        sha=event.sha,
        name=event.context,
        state=event.state,
        passed=event.state == "success",
    )


def _check_suite(data: dict[str, Any]) -> Fact:
    event = _CheckSuiteEvent.model_validate(data)
    suite = event.check_suite
    state = suite.conclusion or suite.status or event.action
    return CheckFact(
        repo=event.repository.full_name,
        sha=suite.head_sha,
        name="check_suite",
        state=state,
        passed=event.action == "completed" and state in ("success", "neutral", "skipped"),
        kind="check_suite",
    )


def _ping(data: dict[str, Any]) -> Fact:
    event = _PingEvent.model_validate(data)
    return PingFact(repo=event.repository.full_name if event.repository else None, hook_id=event.hook_id)


_PARSERS: dict[str, Callable[[dict[str, Any]], Fact]] = {
    "ping": _ping,
    "pull_request": _pull_request,
    "pull_request_review": _review,
    "push": _push,
    "workflow_run": _workflow_run,
    "repository_dispatch": _dispatch,
    "release": _release,
    "status": _status,
    "check_suite": _check_suite,
}
HANDLED_EVENTS = frozenset(_PARSERS)


def parse_github_event(event: str, payload: bytes | str | Mapping[str, Any]) -> Fact | None:
    """The fact in one delivery (`event` is the X-GitHub-Event header); None for events we ignore."""
    parse = _PARSERS.get(event.strip().lower())
    if parse is None:
        return None
    data = json_object(payload)
    try:
        return parse(data)
    except ValidationError as exc:
        raise rejected_from(exc) from None
