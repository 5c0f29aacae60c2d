"""JSON bodies shaped like GitHub's: every field the REST description marks required is present.

The same builders feed REST responses and webhook payloads, as on GitHub, where a webhook's
`pull_request` is the REST pull request object.
"""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime
from typing import Any

from fluxgate.sandbox.github.gitrepo import Commit, TreeEntry
from fluxgate.sandbox.github.state import (
    CheckRunRecord,
    DeploymentRecord,
    DeploymentStatusRecord,
    HookRecord,
    PullRecord,
    RepoRecord,
    ReviewRecord,
    StatusRecord,
    User,
    WorkflowRecord,
    WorkflowRunRecord,
)

__all__ = ["Urls", "iso", "node_id"]

_REPO_URLS = {
    "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}", "contributors_url": "/contributors",
    "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
    "forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}", "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}", "languages_url": "/languages", "merges_url": "/merges",
    "milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}", "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}", "subscribers_url": "/subscribers", "subscription_url": "/subscription",
    "tags_url": "/tags", "teams_url": "/teams", "trees_url": "/git/trees{/sha}",
}


def iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int | str) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode().rstrip("=")


class Urls:
    """Every URL in a response points back at the server that answered (`api`), like GitHub's do."""

    def __init__(self, api: str) -> None:
        self.api = api.rstrip("/")
        self.web = self.api

    # -- people and repositories ----------------------------------------------------------------
    def user(self, user: User | None) -> dict[str, Any] | None:
        if user is None:
            return None
        u = f"{self.api}/users/{user.login}"
        return {
            "login": user.login, "id": user.id, "node_id": node_id("User", user.id),
            "avatar_url": f"{self.web}/avatars/{user.login}", "gravatar_id": "", "url": u,
            "html_url": f"{self.web}/{user.login}", "followers_url": f"{u}/followers",
            "following_url": f"{u}/following{{/other_user}}", "gists_url": f"{u}/gists{{/gist_id}}",
            "starred_url": f"{u}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{u}/subscriptions",
            "organizations_url": f"{u}/orgs", "repos_url": f"{u}/repos",
            "events_url": f"{u}/events{{/privacy}}",
            "received_events_url": f"{u}/received_events", "type": user.type, "site_admin": False,
            "user_view_type": "public",
        }

    def repo_url(self, repo: RepoRecord) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repository(self, repo: RepoRecord, owner: User, full: bool = False) -> dict[str, Any]:
        url = self.repo_url(repo)
        html = f"{self.web}/{repo.full_name}"
        body: dict[str, Any] = {
            "id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name,
            "full_name": repo.full_name, "private": repo.private, "owner": self.user(owner),
            "html_url": html, "description": None, "fork": False, "url": url,
            **{key: url + suffix for key, suffix in _REPO_URLS.items()},
            "git_url": f"{html}.git", "ssh_url": f"{html}.git", "clone_url": f"{html}.git",
            "svn_url": html, "mirror_url": None, "homepage": None, "language": None,
            "forks_count": 0, "forks": 0, "stargazers_count": 0, "watchers_count": 0, "watchers": 0,
            "size": 0, "default_branch": repo.default_branch, "open_issues_count": 0, "open_issues": 0,
            "is_template": False, "topics": [], "has_issues": True, "has_projects": False, "has_wiki": False,
            "has_pages": False, "has_downloads": False, "has_discussions": False, "archived": False,
            "disabled": False, "visibility": "private" if repo.private else "public",
            "pushed_at": iso(repo.pushed_at), "created_at": iso(repo.created_at),
            "updated_at": iso(repo.pushed_at), "license": None, "allow_forking": False,
            "allow_merge_commit": True, "allow_squash_merge": True, "allow_rebase_merge": True,
            "delete_branch_on_merge": False,
            "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
        }
        if full:
            body |= {"network_count": 0, "subscribers_count": 0}
        return body

    # -- git data -------------------------------------------------------------------------------
    def git_ref(self, repo: RepoRecord, name: str, sha: str) -> dict[str, Any]:
        url = self.repo_url(repo)
        return {
            "ref": name, "node_id": node_id("Ref", f"{repo.id}:{name}"), "url": f"{url}/git/{name}",
            "object": {"type": "commit", "sha": sha, "url": f"{url}/git/commits/{sha}"},
        }

    def git_tree(self, repo: RepoRecord, sha: str, entries: list[TreeEntry]) -> dict[str, Any]:
        url = self.repo_url(repo)
        items = []
        for e in entries:
            item: dict[str, Any] = {"path": e.path, "mode": e.mode, "type": e.type, "sha": e.sha}
            if e.type == "blob":
                item |= {"size": e.size or 0, "url": f"{url}/git/blobs/{e.sha}"}
            elif e.type == "tree":
                item["url"] = f"{url}/git/trees/{e.sha}"
            items.append(item)
        return {"sha": sha, "url": f"{url}/git/trees/{sha}", "tree": items, "truncated": False}

    @staticmethod
    def _person(person: Any) -> dict[str, Any]:
        return {"name": person.name, "email": person.email, "date": iso(person.date)}

    def git_commit(self, repo: RepoRecord, commit: Commit) -> dict[str, Any]:
        url = self.repo_url(repo)
        return {
            "sha": commit.sha, "node_id": node_id("Commit", commit.sha),
            "url": f"{url}/git/commits/{commit.sha}",
            "html_url": f"{self.web}/{repo.full_name}/commit/{commit.sha}",
            "author": self._person(commit.author), "committer": self._person(commit.committer),
            "message": commit.message,
            "tree": {"sha": commit.tree, "url": f"{url}/git/trees/{commit.tree}"},
            "parents": [
                {"sha": p, "url": f"{url}/git/commits/{p}",
                 "html_url": f"{self.web}/{repo.full_name}/commit/{p}"}
                for p in commit.parents
            ],
            "verification": {
                "verified": False, "reason": "unsigned", "signature": None, "payload": None,
                "verified_at": None,
            },
        }

    def commit(self, repo: RepoRecord, commit: Commit, author: User | None = None) -> dict[str, Any]:
        """The REST `commit` object (compare, list commits): a git commit wrapped with links."""
        url = self.repo_url(repo)
        inner = self.git_commit(repo, commit)
        return {
            "url": f"{url}/commits/{commit.sha}", "sha": commit.sha, "node_id": inner["node_id"],
            "html_url": inner["html_url"], "comments_url": f"{url}/commits/{commit.sha}/comments",
            "commit": {
                "url": inner["url"], "author": inner["author"], "committer": inner["committer"],
                "message": commit.message, "comment_count": 0, "tree": inner["tree"],
                "verification": inner["verification"],
            },
            "author": self.user(author), "committer": self.user(author),
            "parents": inner["parents"],
        }

    # -- pull requests --------------------------------------------------------------------------
    def _label(self, repo: RepoRecord, name: str) -> dict[str, Any]:
        return {
            "id": zlib.crc32(f"{repo.id}:{name}".encode()), "node_id": node_id("Label", f"{repo.id}:{name}"),
            "url": f"{self.repo_url(repo)}/labels/{name}", "name": name, "description": None,
            "color": "ededed", "default": False,
        }

    def labels(self, repo: RepoRecord, names: list[str]) -> list[dict[str, Any]]:
        return [self._label(repo, n) for n in names]

    def team(self, org: str, slug: str) -> dict[str, Any]:
        tid = zlib.crc32(f"{org}/{slug}".encode()) % 10**7
        url = f"{self.api}/orgs/{org}/teams/{slug}"
        return {
            "id": tid, "node_id": node_id("Team", tid), "url": url,
            "members_url": f"{url}/members{{/member}}",
            "name": slug, "slug": slug, "description": None, "permission": "push", "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "html_url": f"{self.web}/orgs/{org}/teams/{slug}",
            # `type` is who owns the team (organization | enterprise), not the kind of object.
            "repositories_url": f"{url}/repos", "parent": None, "type": "organization",
        }

    def pull(
        self, repo: RepoRecord, pr: PullRecord, users: dict[str, User], owner: User, *, simple: bool = False,
        stats: tuple[int, int, int, int] = (0, 0, 0, 0),
    ) -> dict[str, Any]:
        url = f"{self.repo_url(repo)}/pulls/{pr.number}"
        html = f"{self.web}/{repo.full_name}/pull/{pr.number}"
        issue = f"{self.repo_url(repo)}/issues/{pr.number}"
        repo_body = self.repository(repo, owner)

        def side(ref: str, sha: str) -> dict[str, Any]:
            return {"label": f"{repo.owner}:{ref}", "ref": ref, "sha": sha, "user": self.user(owner),
                    "repo": repo_body}

        body: dict[str, Any] = {
            "url": url, "id": pr.id, "node_id": node_id("PullRequest", pr.id), "html_url": html,
            "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue,
            "commits_url": f"{url}/commits", "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.repo_url(repo)}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": f"{self.repo_url(repo)}/statuses/{pr.head_sha}",
            "number": pr.number, "state": pr.state, "locked": False, "title": pr.title,
            "user": self.user(users[pr.user]), "body": pr.body, "labels": self.labels(repo, pr.labels),
            "milestone": None, "active_lock_reason": None, "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at), "closed_at": iso(pr.closed_at), "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha, "assignee": None, "assignees": [],
            "requested_reviewers": [self.user(users[u]) for u in pr.requested_reviewers],
            "requested_teams": [self.team(repo.owner, t) for t in pr.requested_teams],
            "head": side(pr.head, pr.head_sha), "base": side(pr.base, pr.base_sha),
            "_links": {
                "self": {"href": url}, "html": {"href": html}, "issue": {"href": issue},
                "comments": {"href": f"{issue}/comments"}, "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{self.repo_url(repo)}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{self.repo_url(repo)}/statuses/{pr.head_sha}"},
            },
            "author_association": "MEMBER", "auto_merge": None, "draft": pr.draft,
        }
        if not simple:
            commits, additions, deletions, changed = stats
            body |= {
                "merged": pr.merged, "mergeable": None if pr.merged else pr.state == "open",
                "rebaseable": None, "mergeable_state": "clean" if pr.state == "open" else "unknown",
                "merged_by": self.user(users.get(pr.merged_by or "")), "comments": 0, "review_comments": 0,
                "maintainer_can_modify": False, "commits": commits, "additions": additions,
                "deletions": deletions, "changed_files": changed,
            }
        return body

    def review(self, repo: RepoRecord, pr: PullRecord, review: ReviewRecord, user: User) -> dict[str, Any]:
        html = f"{self.web}/{repo.full_name}/pull/{pr.number}#pullrequestreview-{review.id}"
        pull_url = f"{self.repo_url(repo)}/pulls/{pr.number}"
        return {
            "id": review.id, "node_id": node_id("PullRequestReview", review.id), "user": self.user(user),
            "body": review.body, "state": review.state, "html_url": html, "pull_request_url": pull_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "submitted_at": iso(review.submitted_at), "commit_id": review.commit_id,
            "author_association": "MEMBER",
        }

    # -- statuses, deployments, checks ----------------------------------------------------------
    def status(self, repo: RepoRecord, status: StatusRecord, creator: User) -> dict[str, Any]:
        return {
            "url": f"{self.repo_url(repo)}/statuses/{status.sha}", "avatar_url": None, "id": status.id,
            "node_id": node_id("StatusContext", status.id), "state": status.state,
            "description": status.description, "target_url": status.target_url, "context": status.context,
            "created_at": iso(status.created_at), "updated_at": iso(status.updated_at),
            "creator": self.user(creator),
        }

    def combined_status(
        self, repo: RepoRecord, sha: str, latest: list[StatusRecord], owner: User
    ) -> dict[str, Any]:
        states = {s.state for s in latest}
        state = (
            "failure" if states & {"failure", "error"} else
            "pending" if "pending" in states or not latest else "success"
        )
        statuses = [
            {k: v for k, v in self.status(repo, s, owner).items() if k != "creator"} for s in latest
        ]
        body = self.repository(repo, owner)
        minimal = {k: v for k, v in body.items() if k not in {"forks", "open_issues", "watchers"}}
        return {
            "state": state, "statuses": statuses, "sha": sha, "total_count": len(latest),
            "repository": minimal, "commit_url": f"{self.repo_url(repo)}/commits/{sha}",
            "url": f"{self.repo_url(repo)}/commits/{sha}/status",
        }

    def deployment(self, repo: RepoRecord, d: DeploymentRecord, creator: User) -> dict[str, Any]:
        url = f"{self.repo_url(repo)}/deployments/{d.id}"
        return {
            "url": url, "id": d.id, "node_id": node_id("Deployment", d.id), "sha": d.sha, "ref": d.ref,
            "task": d.task, "payload": d.payload, "original_environment": d.environment,
            "environment": d.environment, "description": d.description, "creator": self.user(creator),
            "created_at": iso(d.created_at), "updated_at": iso(d.updated_at),
            "statuses_url": f"{url}/statuses",
            "repository_url": self.repo_url(repo), "transient_environment": d.transient_environment,
            "production_environment": d.production_environment,
        }

    def deployment_status(
        self, repo: RepoRecord, d: DeploymentRecord, s: DeploymentStatusRecord, creator: User
    ) -> dict[str, Any]:
        url = f"{self.repo_url(repo)}/deployments/{d.id}"
        return {
            "url": f"{url}/statuses/{s.id}", "id": s.id, "node_id": node_id("DeploymentStatus", s.id),
            "state": s.state, "creator": self.user(creator), "description": s.description,
            "environment": s.environment, "target_url": s.target_url, "created_at": iso(s.created_at),
            "updated_at": iso(s.created_at), "deployment_url": url, "repository_url": self.repo_url(repo),
            "environment_url": s.environment_url, "log_url": s.log_url,
        }

    def check_run(self, repo: RepoRecord, c: CheckRunRecord, app: dict[str, Any] | None) -> dict[str, Any]:
        url = f"{self.repo_url(repo)}/check-runs/{c.id}"
        return {
            "id": c.id, "head_sha": c.head_sha, "node_id": node_id("CheckRun", c.id),
            "external_id": c.external_id, "url": url, "html_url": f"{self.web}/{repo.full_name}/runs/{c.id}",
            "details_url": c.details_url, "status": c.status, "conclusion": c.conclusion,
            "started_at": iso(c.started_at), "completed_at": iso(c.completed_at),
            "output": {
                "title": c.title, "summary": c.summary, "text": c.text, "annotations_count": 0,
                "annotations_url": f"{url}/annotations",
            },
            "name": c.name, "check_suite": {"id": c.id}, "app": app, "pull_requests": [],
        }

    def app(self, app_id: int, slug: str, owner: User) -> dict[str, Any]:
        return {
            "id": app_id, "slug": slug, "node_id": node_id("Integration", app_id), "owner": self.user(owner),
            "name": slug, "description": None, "external_url": f"{self.web}/apps/{slug}",
            "html_url": f"{self.web}/apps/{slug}", "created_at": iso(0), "updated_at": iso(0),
            "permissions": {"contents": "write", "pull_requests": "write", "statuses": "write",
                            "deployments": "write", "checks": "write"},
            "events": [],
        }

    # -- actions --------------------------------------------------------------------------------
    def workflow(self, repo: RepoRecord, w: WorkflowRecord) -> dict[str, Any]:
        html = f"{self.web}/{repo.full_name}"
        return {
            "id": w.id, "node_id": node_id("Workflow", w.id), "name": w.name, "path": w.path,
            "state": "active",
            "created_at": iso(w.created_at), "updated_at": iso(w.updated_at),
            "url": f"{self.repo_url(repo)}/actions/workflows/{w.id}",
            "html_url": f"{html}/blob/{repo.default_branch}/{w.path}",
            "badge_url": f"{html}/workflows/{w.name}/badge.svg",
        }

    def workflow_run(
        self, repo: RepoRecord, run: WorkflowRunRecord, commit: Commit, actor: User, owner: User
    ) -> dict[str, Any]:
        """A run as `GET /actions/runs/{id}` and the `workflow_run` webhook show it."""
        url = f"{self.repo_url(repo)}/actions/runs/{run.id}"
        suite = run.check_suite_id
        repository = self.repository(repo, owner)

        def person(p: Any) -> dict[str, Any]:
            return {"name": p.name, "email": p.email}

        return {
            "id": run.id, "name": run.name, "node_id": node_id("WorkflowRun", run.id),
            "check_suite_id": suite, "check_suite_node_id": node_id("CheckSuite", suite),
            "head_branch": run.head_branch, "head_sha": run.head_sha, "path": run.path,
            "display_title": run.name, "run_number": run.run_number, "run_attempt": 1,
            "referenced_workflows": [], "event": run.event, "status": run.status,
            "conclusion": run.conclusion, "workflow_id": run.workflow_id, "url": url,
            "html_url": f"{self.web}/{repo.full_name}/actions/runs/{run.id}", "pull_requests": [],
            "created_at": iso(run.created_at), "updated_at": iso(run.updated_at), "actor": self.user(actor),
            "triggering_actor": self.user(actor), "run_started_at": iso(run.created_at),
            "jobs_url": f"{url}/jobs", "logs_url": f"{url}/logs",
            "check_suite_url": f"{self.repo_url(repo)}/check-suites/{suite}",
            "artifacts_url": f"{url}/artifacts", "cancel_url": f"{url}/cancel", "rerun_url": f"{url}/rerun",
            "previous_attempt_url": None,
            "workflow_url": f"{self.repo_url(repo)}/actions/workflows/{run.workflow_id}",
            "head_commit": {
                "id": commit.sha, "tree_id": commit.tree, "message": commit.message,
                "timestamp": iso(commit.committer.date), "author": person(commit.author),
                "committer": person(commit.committer),
            },
            "repository": repository, "head_repository": repository, "head_repository_id": repo.id,
        }

    # -- hooks ----------------------------------------------------------------------------------
    def hook(self, repo: RepoRecord, hook: HookRecord, last_code: int | None) -> dict[str, Any]:
        url = f"{self.repo_url(repo)}/hooks/{hook.id}"
        return {
            "type": "Repository", "id": hook.id, "name": "web", "active": hook.active, "events": hook.events,
            "config": {"url": hook.url, "content_type": hook.content_type, "insecure_ssl": "0",
                       **({"secret": "********"} if hook.secret else {})},
            "updated_at": iso(hook.created_at), "created_at": iso(hook.created_at), "url": url,
            "test_url": f"{url}/test", "ping_url": f"{url}/pings", "deliveries_url": f"{url}/deliveries",
            "last_response": {"code": last_code, "status": "active" if last_code else "unused",
                              "message": None},
        }
