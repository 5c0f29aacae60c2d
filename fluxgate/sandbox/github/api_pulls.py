"""Pull requests: open, list by head, read, edit, close, merge (merge/squash/rebase), reviews, reviewers,
labels."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from fluxgate.sandbox.github.emulator import Emulator
from fluxgate.sandbox.github.errors import ApiError, not_found, unprocessable
from fluxgate.sandbox.github.gitrepo import MergeConflict, Person
from fluxgate.sandbox.github.http import Call, endpoint
from fluxgate.sandbox.github.payloads import pull_request_payload, review_payload
from fluxgate.sandbox.github.state import PullRecord, RepoRecord, ReviewRecord, now

__all__ = ["approvals", "on_head_moved", "pull_body", "routes"]

_REVIEW_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}


def approvals(pr: PullRecord) -> set[str]:
    """Who approves the head commit now: each reviewer's latest approving or requesting-changes review
    counts."""
    latest: dict[str, str] = {}
    for review in pr.reviews:
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review.user] = review.state if review.commit_id == pr.head_sha else "STALE"
    return {user for user, state in latest.items() if state == "APPROVED"}


def pull_body(em: Emulator, record: RepoRecord, pr: PullRecord, simple: bool = False) -> dict[str, Any]:
    users = {login: em.user(login) for login in {pr.user, pr.merged_by, *pr.requested_reviewers} if login}
    stats = (0, 0, 0, 0)
    mergeable: bool | None = None
    if not simple:
        git = em.git(record)
        current = git.ref(f"refs/heads/{pr.base}") if pr.state == "open" else None
        base = git.merge_base(current or pr.base_sha, pr.head_sha) or pr.base_sha
        stats = (len(git.commits_between(base, pr.head_sha)), 0, 0, len(git.diff_files(base, pr.head_sha)))
        if current is not None:
            try:
                git.merge_trees(current, pr.head_sha)
                mergeable = True
            except MergeConflict:
                mergeable = False
    body = em.urls.pull(record, pr, users, em.user(record.owner), simple=simple, stats=stats)
    if mergeable is not None:  # GitHub computes these for open pull requests
        blocked = len(approvals(pr)) < record.protected.get(pr.base, 0) or bool(unmet_checks(record, pr))
        body["mergeable"] = mergeable
        body["mergeable_state"] = "dirty" if not mergeable else "blocked" if blocked else "clean"
    return body


def unmet_checks(record: RepoRecord, pr: PullRecord) -> list[str]:
    """Required status contexts of the base branch whose latest status on the PR head is not success."""
    latest = {s.context: s.state for s in record.statuses if s.sha == pr.head_sha}
    return [c for c in record.required_checks.get(pr.base, []) if latest.get(c) != "success"]


def _pull(call: Call) -> tuple[RepoRecord, PullRecord]:
    record, _ = call.repo()
    pr = record.pulls.get(int(call.params["pull_number"]))
    if pr is None:
        raise not_found()
    return record, pr


def _notify(call: Call, record: RepoRecord, pr: PullRecord, action: str) -> None:
    payload = pull_request_payload(call.emulator, record, pr, action, call.actor)
    call.emulator.emit(record, "pull_request", payload)


def on_head_moved(em: Emulator, actor: str, record: RepoRecord, branch: str, sha: str | None) -> None:
    """A pushed head branch (API or `git push`) updates its open PRs (`synchronize`); a deleted one closes
    them."""
    for pr in record.pulls.values():
        if pr.state == "open" and pr.head == branch and sha != pr.head_sha:
            before = pr.head_sha
            if sha is None:
                pr.state, pr.closed_at, action = "closed", now(), "closed"
            else:
                pr.head_sha, pr.updated_at, action = sha, now(), "synchronize"
            payload = pull_request_payload(em, record, pr, action, actor,
                                           before=before if action == "synchronize" else None)
            em.emit(record, "pull_request", payload)


def create_pull(call: Call) -> tuple[int, Any]:
    record, git = call.writing()
    head, base = call.field("head", str), call.field("base", str)
    head = head.split(":", 1)[1] if ":" in head else head
    head_sha, base_sha = git.ref(f"refs/heads/{head}"), git.ref(f"refs/heads/{base}")
    if head_sha is None:
        raise unprocessable("Validation Failed", resource="PullRequest", field="head", code="invalid")
    if base_sha is None:
        raise unprocessable("Validation Failed", resource="PullRequest", field="base", code="invalid")
    for pr in record.pulls.values():
        if pr.state == "open" and pr.head == head and pr.base == base:
            raise unprocessable("Validation Failed", resource="PullRequest", code="custom",
                                message=f"A pull request already exists for {record.owner}:{head}.")
    if not git.commits_between(base_sha, head_sha):
        raise unprocessable("Validation Failed", resource="PullRequest", code="custom",
                            message=f"No commits between {base} and {head}")
    pr = PullRecord(number=record.take_number(), id=call.emulator.state.take_id(),
                    title=call.field("title", str), body=call.field("body", str, None), user=call.actor,
                    head=head, base=base, head_sha=head_sha, base_sha=base_sha,
                    draft=bool(call.field("draft", bool, False)))
    record.pulls[pr.number] = pr
    _notify(call, record, pr, "opened")
    return 201, pull_body(call.emulator, record, pr)


def _number(value: str | None, default: int) -> int:
    """A query parameter as GitHub reads it: a number, or the default when it is missing or not one."""
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def list_pulls(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    state = call.query.get("state", "open")
    head = call.query.get("head")
    base = call.query.get("base")
    found = [
        pr for pr in sorted(record.pulls.values(), key=lambda p: -p.number)
        if state in ("all", pr.state)
        and (head is None or f"{record.owner}:{pr.head}" == head or pr.head == head)
        and (base is None or pr.base == base)
    ]
    per_page = min(max(_number(call.query.get("per_page"), 30), 1), 100)  # GitHub caps pages at 100
    page = max(_number(call.query.get("page"), 1), 1)
    return 200, [pull_body(call.emulator, record, pr, simple=True)
                 for pr in found[(page - 1) * per_page: page * per_page]]


def get_pull(call: Call) -> tuple[int, Any]:
    record, pr = _pull(call)
    return 200, pull_body(call.emulator, record, pr)


def update_pull(call: Call) -> tuple[int, Any]:
    call.writing()
    record, pr = _pull(call)
    git = call.emulator.git(record)
    pr.title = call.field("title", str, pr.title)
    pr.body = call.field("body", str, pr.body)
    state = call.field("state", str, pr.state)
    action = "edited"
    if state != pr.state:
        if pr.merged:
            raise unprocessable("Validation Failed", resource="PullRequest", code="custom",
                                message="Cannot change the state of a merged pull request")
        if state == "open":
            head_sha = git.ref(f"refs/heads/{pr.head}")
            if head_sha is None:
                raise unprocessable("Validation Failed", resource="PullRequest", code="custom",
                                    message="Cannot reopen: the head branch was deleted")
            twins = [o for o in record.pulls.values() if (o.head, o.base) == (pr.head, pr.base)]
            if any(o.state == "open" for o in twins):
                raise unprocessable("Validation Failed", resource="PullRequest", code="custom",
                                    message=f"A pull request already exists for {record.owner}:{pr.head}.")
            pr.head_sha, pr.closed_at, action = head_sha, None, "reopened"
        else:
            pr.closed_at, action = now(), "closed"
        pr.state = state
    pr.updated_at = now()
    _notify(call, record, pr, action)
    return 200, pull_body(call.emulator, record, pr)


def merge_pull(call: Call) -> tuple[int, Any]:
    from fluxgate.sandbox.github.api_git import move_ref

    record, git = call.writing()
    record, pr = _pull(call)
    method = call.field("merge_method", str, "merge")
    if pr.merged or pr.state != "open":
        raise ApiError(405, "Pull Request is not mergeable")
    expected = call.field("sha", str, None)
    if expected is not None and expected != pr.head_sha:
        raise ApiError(409, "Head branch was modified. Review and try the merge again.")
    required = record.protected.get(pr.base, 0)
    if len(approvals(pr)) < required:
        raise ApiError(405, f"At least {required} approving review is required by reviewers with write "
                            "access.")
    missing = unmet_checks(record, pr)
    if missing:
        raise ApiError(405, f'Required status check "{missing[0]}" is expected.')
    base_ref = f"refs/heads/{pr.base}"
    base_sha = git.ref(base_ref)
    assert base_sha is not None
    me = call.emulator.user(call.actor)
    person = Person(me.login, me.email or f"{me.login}@users.noreply.github.com", now())
    title = call.field("commit_title", str, None)
    try:
        if method == "rebase":
            tip = git.rebase(base_sha, git.commits_between(base_sha, pr.head_sha), person)
        elif method in ("merge", "squash"):
            tree = git.merge_trees(base_sha, pr.head_sha)
            if method == "merge":
                message = (title or f"Merge pull request #{pr.number} from {record.owner}/{pr.head}")
                message += "\n\n" + call.field("commit_message", str, pr.title)
                tip = git.write_commit(tree, [base_sha, pr.head_sha], message, person, person)
            else:
                message = (title or f"{pr.title} (#{pr.number})") + "\n\n"
                message += call.field("commit_message", str, "")
                tip = git.write_commit(tree, [base_sha], message.rstrip() + "\n", person, person)
        else:
            raise unprocessable("Validation Failed", resource="PullRequest", field="merge_method",
                                code="invalid")
    except MergeConflict as conflict:
        raise ApiError(405, f"Merge conflict in {conflict}: pull request is not mergeable") from None
    move_ref(call, record, git, base_ref, tip, merging=True)
    pr.merged, pr.merged_by, pr.merged_at = True, call.actor, now()
    pr.merge_commit_sha, pr.state, pr.closed_at, pr.base_sha = tip, "closed", pr.merged_at, base_sha
    _notify(call, record, pr, "closed")
    return 200, {"sha": tip, "merged": True, "message": "Pull Request successfully merged"}


def list_reviews(call: Call) -> tuple[int, Any]:
    record, pr = _pull(call)
    return 200, [call.urls.review(record, pr, r, call.emulator.user(r.user)) for r in pr.reviews]


def create_review(call: Call) -> tuple[int, Any]:
    call.writing()
    record, pr = _pull(call)
    event = call.field("event", str, "COMMENT")
    if event not in _REVIEW_STATES:
        raise unprocessable("Unprocessable Entity", field="event", code="invalid")
    if event != "COMMENT" and call.actor == pr.user:
        raise unprocessable(f"Can not {event.lower().replace('_', ' ')} your own pull request")
    review = ReviewRecord(id=call.emulator.state.take_id(), user=call.actor, state=_REVIEW_STATES[event],
                          body=call.field("body", str, ""),
                          commit_id=call.field("commit_id", str, pr.head_sha),
                          submitted_at=now())
    pr.reviews.append(review)
    pr.requested_reviewers = [u for u in pr.requested_reviewers if u != call.actor]
    call.emulator.emit(record, "pull_request_review", review_payload(call.emulator, record, pr, review))
    return 200, call.urls.review(record, pr, review, call.emulator.user(call.actor))


def request_reviewers(call: Call) -> tuple[int, Any]:
    call.writing()
    record, pr = _pull(call)
    users = call.field("reviewers", list, [])
    teams = call.field("team_reviewers", list, [])
    if pr.user in users:
        raise unprocessable("Review cannot be requested from pull request author.")
    for login in users:
        call.emulator.user(login)
        if login not in pr.requested_reviewers:
            pr.requested_reviewers.append(login)
    pr.requested_teams += [t for t in teams if t not in pr.requested_teams]
    return 201, pull_body(call.emulator, record, pr, simple=True)


def list_requested_reviewers(call: Call) -> tuple[int, Any]:
    record, pr = _pull(call)
    return 200, {"users": [call.urls.user(call.emulator.user(u)) for u in pr.requested_reviewers],
                 "teams": [call.urls.team(record.owner, t) for t in pr.requested_teams]}


def _issue(call: Call) -> tuple[RepoRecord, PullRecord]:
    record, _ = call.repo()
    pr = record.pulls.get(int(call.params["issue_number"]))
    if pr is None:
        raise not_found()
    return record, pr


def _label_names(call: Call) -> list[str]:
    labels = call.body.get("labels", []) if isinstance(call.body, dict) else call.body
    if labels is None:
        labels = []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise unprocessable("Invalid request.\n\nFor 'labels', expected a list of strings.")
    return labels


def add_labels(call: Call) -> tuple[int, Any]:
    call.writing()
    record, pr = _issue(call)
    pr.labels += [name for name in dict.fromkeys(_label_names(call)) if name not in pr.labels]
    pr.updated_at = now()
    return 200, call.urls.labels(record, pr.labels)


R = "/repos/{owner}/{repo}"
P = R + "/pulls/{pull_number:int}"
routes = [
    Route(R + "/pulls", endpoint(create_pull), methods=["POST"]),
    Route(R + "/pulls", endpoint(list_pulls), methods=["GET"]),
    Route(P, endpoint(get_pull), methods=["GET"]),
    Route(P, endpoint(update_pull), methods=["PATCH"]),
    Route(P + "/merge", endpoint(merge_pull), methods=["PUT"]),
    Route(P + "/reviews", endpoint(list_reviews), methods=["GET"]),
    Route(P + "/reviews", endpoint(create_review), methods=["POST"]),
    Route(P + "/requested_reviewers", endpoint(request_reviewers), methods=["POST"]),
    Route(P + "/requested_reviewers", endpoint(list_requested_reviewers), methods=["GET"]),
    Route(R + "/issues/{issue_number:int}/labels", endpoint(add_labels), methods=["POST"]),
]
