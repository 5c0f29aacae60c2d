"""Webhook payloads shaped like GitHub's (compared with `@octokit/webhooks-examples` in the tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fluxgate.sandbox.github.gitrepo import ZERO
from fluxgate.sandbox.github.state import (
    DeploymentRecord,
    DeploymentStatusRecord,
    HookRecord,
    PullRecord,
    RepoRecord,
    ReviewRecord,
    StatusRecord,
    WorkflowRecord,
    WorkflowRunRecord,
)
from fluxgate.sandbox.github.views import iso

if TYPE_CHECKING:
    from fluxgate.sandbox.github.emulator import Emulator

__all__ = [
    "deployment_payload",
    "deployment_status_payload",
    "dispatch_payload",
    "ping_payload",
    "pull_request_payload",
    "push_payload",
    "review_payload",
    "status_payload",
    "workflow_dispatch_payload",
    "workflow_run_payload",
]


def _webhook_repo_keys() -> dict[str, Any]:
    """Repository keys every webhook payload on github.com carries (checked against
    `@octokit/webhooks-examples`) that the REST builders in `views` don't produce; fresh each time."""
    return {"custom_properties": {}, "web_commit_signoff_required": False}




def _with_webhook_keys(repo: dict[str, Any]) -> dict[str, Any]:
    for key, value in _webhook_repo_keys().items():
        repo.setdefault(key, value)
    return repo


def _repo(em: Emulator, record: RepoRecord) -> dict[str, Any]:
    return _with_webhook_keys(em.urls.repository(record, em.user(record.owner)))


def _sender(em: Emulator, login: str) -> dict[str, Any]:
    user = em.urls.user(em.user(login))
    assert user is not None
    return user


def ping_payload(em: Emulator, record: RepoRecord, hook: HookRecord) -> dict[str, Any]:
    return {
        "zen": "Keep it logically awesome.", "hook_id": hook.id,
        "hook": em.urls.hook(record, hook, None), "repository": _repo(em, record),
        "sender": _sender(em, record.owner),
    }


def push_payload(em: Emulator, record: RepoRecord, ref: str, before: str | None, after: str | None,
                 pusher: str, forced: bool = False) -> dict[str, Any]:
    git = em.git(record)
    web = f"{em.urls.web}/{record.full_name}"
    commits = []
    if after:
        shas = git.commits_between(before, after) if before else [after]
        for sha in shas[-20:]:
            commit = git.read_commit(sha)
            changes = git.diff_files(commit.parents[0], sha) if commit.parents else [
                ("A", path, ZERO, blob) for path, (_mode, blob) in git.files(commit.tree).items()
            ]

            def who(p: Any) -> dict[str, Any]:
                return {"name": p.name, "email": p.email, "username": pusher}

            commits.append({
                "id": sha, "tree_id": commit.tree, "distinct": True, "message": commit.message,
                "timestamp": iso(commit.committer.date), "url": f"{web}/commit/{sha}",
                "author": who(commit.author), "committer": who(commit.committer),
                "added": [p for s, p, _, _ in changes if s == "A"],
                "removed": [p for s, p, _, _ in changes if s == "D"],
                "modified": [p for s, p, _, _ in changes if s not in ("A", "D")],
            })
    owner = em.user(record.owner)
    repository = _repo(em, record) | {
        "created_at": record.created_at, "pushed_at": record.pushed_at, "stargazers": 0,
        "master_branch": record.default_branch,
        # push payloads still carry the pre-v3 owner form: `name` and `email` next to `login`
        "owner": (em.urls.user(owner) or {}) | {"name": owner.login, "email": owner.email},
    }
    user = em.user(pusher)
    return {
        "ref": ref, "before": before or ZERO, "after": after or ZERO, "created": before is None,
        "deleted": after is None, "forced": forced, "base_ref": None,
        "compare": f"{web}/compare/{(before or ZERO)[:12]}...{(after or ZERO)[:12]}",
        "commits": commits, "head_commit": commits[-1] if commits else None, "repository": repository,
        "pusher": {"name": user.login, "email": user.email or f"{user.login}@users.noreply.github.com"},
        "sender": _sender(em, pusher),
    }


def _pull_request(em: Emulator, record: RepoRecord, pr: PullRecord, simple: bool = False) -> dict[str, Any]:
    from fluxgate.sandbox.github.api_pulls import pull_body

    body = pull_body(em, record, pr, simple=simple)
    for side in ("head", "base"):
        if isinstance(body[side].get("repo"), dict):
            body[side]["repo"] = _with_webhook_keys(dict(body[side]["repo"]))
    return body


def pull_request_payload(em: Emulator, record: RepoRecord, pr: PullRecord, action: str,
                         sender: str, before: str | None = None) -> dict[str, Any]:
    """`before`/`after` come only with `synchronize`: the head before and after the push that moved it."""
    payload: dict[str, Any] = {"action": action, "number": pr.number}
    if action == "synchronize":
        payload |= {"before": before, "after": pr.head_sha}
    return payload | {"pull_request": _pull_request(em, record, pr), "repository": _repo(em, record),
                      "sender": _sender(em, sender)}


def review_payload(em: Emulator, record: RepoRecord, pr: PullRecord, review: ReviewRecord) -> dict[str, Any]:
    body = em.urls.review(record, pr, review, em.user(review.user))
    return {"action": "submitted", "review": body, "pull_request": _pull_request(em, record, pr, simple=True),
            "repository": _repo(em, record), "sender": _sender(em, review.user)}


def status_payload(em: Emulator, record: RepoRecord, status: StatusRecord) -> dict[str, Any]:
    git = em.git(record)
    commit = em.urls.commit(record, git.read_commit(status.sha), em.user(record.owner))
    branches = [
        {"name": ref.removeprefix("refs/heads/"), "commit": {"sha": sha, "url": commit["url"]},
         "protected": ref.removeprefix("refs/heads/") in record.protected}
        for ref, sha in git.refs().items() if ref.startswith("refs/heads/") and sha == status.sha
    ]
    return {
        "id": status.id, "sha": status.sha, "name": record.full_name, "target_url": status.target_url,
        "context": status.context, "description": status.description, "state": status.state,
        "commit": commit, "branches": branches, "created_at": iso(status.created_at),
        "updated_at": iso(status.updated_at), "repository": _repo(em, record),
        "sender": _sender(em, status.creator),
    }


def deployment_payload(em: Emulator, record: RepoRecord, d: DeploymentRecord) -> dict[str, Any]:
    return {"action": "created", "deployment": em.urls.deployment(record, d, em.user(d.creator)),
            "repository": _repo(em, record), "sender": _sender(em, d.creator)}


def deployment_status_payload(em: Emulator, record: RepoRecord, d: DeploymentRecord,
                              s: DeploymentStatusRecord) -> dict[str, Any]:
    return {
        "action": "created",
        "deployment_status": em.urls.deployment_status(record, d, s, em.user(s.creator)),
        "deployment": em.urls.deployment(record, d, em.user(d.creator)),
        "repository": _repo(em, record), "sender": _sender(em, s.creator),
    }


def dispatch_payload(em: Emulator, record: RepoRecord, event_type: str, client_payload: dict[str, Any],
                     sender: str) -> dict[str, Any]:
    return {"action": event_type, "branch": record.default_branch, "client_payload": client_payload,
            "repository": _repo(em, record), "sender": _sender(em, sender),
            "installation": {"id": 0, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMA"}}


def workflow_dispatch_payload(em: Emulator, record: RepoRecord, workflow: WorkflowRecord, ref: str,
                              inputs: dict[str, Any], sender: str) -> dict[str, Any]:
    """`ref` is the full ref (`refs/heads/main`), `workflow` the file's path, as GitHub sends them."""
    return {"inputs": inputs, "ref": ref, "workflow": workflow.path, "repository": _repo(em, record),
            "sender": _sender(em, sender)}


def workflow_run_payload(em: Emulator, record: RepoRecord, workflow: WorkflowRecord, run: WorkflowRunRecord,
                         action: str) -> dict[str, Any]:
    """`action`: requested (queued), in_progress or completed."""
    commit = em.git(record).read_commit(run.head_sha)
    body = em.urls.workflow_run(record, run, commit, em.user(run.actor), em.user(record.owner))
    return {"action": action, "workflow": em.urls.workflow(record, workflow), "workflow_run": body,
            "repository": _repo(em, record), "sender": _sender(em, run.actor)}
