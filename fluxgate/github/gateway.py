"""The one door from fluxgate to GitHub. Everything else (tasks, the connector, the CLI) calls this.

A `GitHubGateway` is built from `GitHubSettings`; every method takes the repository's full name,
converts PyGithub's objects to the plain models in `models.py`, and converts every failure to a
fluxgate error naming the repository and the operation (`errors.calling`). Requests carry a timeout
and go through `FluxgateRetry`. Promotion commits live in `promotion.py`. GitHub Actions: dispatch a
workflow and read its runs (post-deploy verification waits for the run's `workflow_run` webhook).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any
from urllib.parse import quote

import github
from github.GithubObject import NotSet
from github.PullRequest import PullRequest as GithubPullRequest
from github.Repository import Repository
from github.WorkflowRun import WorkflowRun as GithubWorkflowRun

from fluxgate.github.checkout import Snapshot, SourceTree, fetch_snapshot, fetch_source
from fluxgate.github.errors import GitHubNotFound, calling
from fluxgate.github.models import (
    CombinedStatus,
    CommitState,
    CommitStatus,
    DeploymentState,
    MergeMethod,
    PullRequest,
    Review,
    WorkflowRun,
)
from fluxgate.github.pr_text import read_marker
from fluxgate.github.retry import FluxgateRetry
from fluxgate.github.settings import GitHubSettings

__all__ = ["GitHubGateway"]

STATUS_DESCRIPTION_LIMIT = 140
CLOCK_SKEW = timedelta(seconds=5)  # how far GitHub's clock may lag ours when runs are looked up by time


def _auth(settings: GitHubSettings) -> github.Auth.Auth:
    if settings.token is not None:
        return github.Auth.Token(settings.token.get_secret_value())
    assert settings.app_id is not None and settings.private_key is not None and settings.installation_id
    app = github.Auth.AppAuth(settings.app_id, settings.private_key.get_secret_value())
    return app.get_installation_auth(settings.installation_id)


def trim(text: str, limit: int = STATUS_DESCRIPTION_LIMIT) -> str:
    """GitHub rejects longer commit-status descriptions; cut on a word and mark the cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[-20:]:  # end on a whole word when one ends near the limit
        cut = cut.rsplit(" ", 1)[0].rstrip(" ,.;:")
    return cut + "…"


@contextmanager
def _finding(thing: str, operation: str, repo: str) -> Iterator[None]:
    """`calling`, where a 404 names the missing `thing` (a workflow, a run) rather than the repository."""
    try:
        with calling(operation, repo):
            yield
    except GitHubNotFound as exc:
        raise GitHubNotFound(f"{thing} not found in {repo} (or the token cannot see the repository)") from exc


def _workflow_run(repo: str, run: GithubWorkflowRun) -> WorkflowRun:
    return WorkflowRun(
        repo=repo,
        id=run.id,
        name=run.name,
        path=run.path,
        event=run.event,
        head_branch=run.head_branch,
        head_sha=run.head_sha,
        status=run.status,
        conclusion=run.conclusion,
        html_url=run.html_url,
        created_at=run.created_at,
    )


class GitHubGateway:
    def __init__(self, settings: GitHubSettings, cache: Path | None = None) -> None:
        self.settings = settings
        self.cache = cache or Path(tempfile.gettempdir()) / "fluxgate-git"
        self._auth = _auth(settings)
        retry = FluxgateRetry(
            max_wait=settings.max_wait, total=settings.retries, backoff_factor=settings.backoff
        )
        self._github = github.Github(
            auth=self._auth,
            base_url=settings.api_url.rstrip("/"),
            timeout=settings.timeout,
            retry=retry,
            per_page=100,
            lazy=True,
            user_agent=f"fluxgate/{package_version('fluxgate')}",
            seconds_between_requests=settings.min_request_interval,
            seconds_between_writes=settings.min_write_interval,
        )

    def close(self) -> None:
        self._github.close()

    def repo(self, name: str) -> Repository:
        """A lazy handle: no request until an operation needs one."""
        return self._github.get_repo(name)

    def check_access(self) -> None:
        """Raise the GitHub error when the credentials do not work (`GET /rate_limit`, which costs no
        rate limit and answers for a token and an App installation alike)."""
        with calling("check the credentials", "GitHub"):
            self._github.requester.requestJsonAndCheck("GET", "/rate_limit")

    def git_token(self) -> str:
        """A token git can use (an installation token is refreshed before it expires)."""
        with calling("authentication", "GitHub"):
            return str(self._auth.token)

    # -- reading ------------------------------------------------------------------------------------
    def snapshot(self, repo: str, branch: str) -> Snapshot:
        """The branch head, fetched with git: the base a promotion is planned on."""
        return fetch_snapshot(
            self.settings.web_url,
            repo,
            branch,
            self.git_token(),
            self.cache,
            timeout=self.settings.timeout * 8,
        )

    def source(self, repo: str, ref: str) -> SourceTree:
        """The files of `repo` at `ref` (a commit, branch or tag) from the cache; one shallow fetch
        when the commit is not there yet (a name is always fetched: that resolves it)."""
        return fetch_source(
            self.settings.web_url, repo, ref, self.git_token, self.cache, timeout=self.settings.timeout * 8
        )

    def is_ancestor(self, repo: str, ancestor: str, descendant: str) -> bool:
        """True when `descendant` contains `ancestor` (or is it): Flux applied our commit or a later one."""
        if ancestor == descendant:
            return True
        with calling(f"compare {ancestor[:12]}...{descendant[:12]}", repo):
            comparison = self.repo(repo).compare(ancestor, descendant)
            return comparison.status in ("ahead", "identical")

    # -- pull requests ------------------------------------------------------------------------------
    @staticmethod
    def _pull_request(repo: str, pr: GithubPullRequest, reviews: list[Review] | None = None) -> PullRequest:
        return PullRequest(
            repo=repo,
            number=pr.number,
            url=pr.html_url,
            title=pr.title,
            state="closed" if pr.state == "closed" else "open",
            merged=bool(pr.merged_at),
            merge_sha=pr.merge_commit_sha if pr.merged_at else None,
            merged_by=pr.merged_by.login if pr.merged_at and pr.merged_by else None,
            head_branch=pr.head.ref,
            head_sha=pr.head.sha,
            base_branch=pr.base.ref,
            promotion=read_marker(pr.body),
            reviews=reviews or [],
        )

    def pull_request(self, repo: str, number: int, with_reviews: bool = True) -> PullRequest:
        with calling(f"read pull request #{number}", repo):
            pr = self.repo(repo).get_pull(number)
            reviews = (
                [
                    Review.model_validate(
                        {"user": r.user.login if r.user else None, "state": r.state, "commit": r.commit_id}
                    )
                    for r in pr.get_reviews()
                ]
                if with_reviews
                else []
            )
            return self._pull_request(repo, pr, reviews)

    def find_pull_request(self, repo: str, head: str, state: str = "open") -> PullRequest | None:
        """The newest PR from branch `head` (`state`: open, closed or all)."""
        owner = repo.split("/", 1)[0]
        with calling(f"list pull requests from {head}", repo):
            for pr in self.repo(repo).get_pulls(state=state, head=f"{owner}:{head}"):
                return self._pull_request(repo, pr)
        return None

    def merge(self, repo: str, number: int, method: MergeMethod, expected_head: str | None = None) -> str:
        """Merge and return the merge commit's sha; `expected_head` guards against a late push."""
        with calling(f"merge pull request #{number} ({method})", repo):
            result = self.repo(repo).get_pull(number).merge(merge_method=method, sha=expected_head or NotSet)
            return str(result.sha)

    def close_pull_request(self, repo: str, number: int) -> None:
        with calling(f"close pull request #{number}", repo):
            self.repo(repo).get_pull(number).edit(state="closed")

    def request_reviewers(self, repo: str, number: int, reviewers: list[str], teams: list[str]) -> None:
        if not reviewers and not teams:
            return
        with calling(f"request reviewers on #{number}", repo):
            self.repo(repo).get_pull(number).create_review_request(reviewers=reviewers, team_reviewers=teams)

    # -- reporting ----------------------------------------------------------------------------------
    def set_status(
        self,
        repo: str,
        sha: str,
        state: CommitState,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> None:
        body = {"state": state, "context": context, "description": trim(description)}
        if target_url:
            body["target_url"] = target_url
        with calling(f"set commit status {context!r} on {sha[:12]}", repo):
            # PyGithub's Commit.create_status would first GET the commit; one POST is enough.
            handle = self.repo(repo)
            handle.requester.requestJsonAndCheck("POST", f"{handle.url}/statuses/{sha}", input=body)

    def combined_status(self, repo: str, ref: str) -> CombinedStatus:
        """The commit `ref` points at and its latest status per context (the first 100 contexts)."""
        with calling(f"read the combined status of {ref}", repo):
            handle = self.repo(repo)
            _headers, data = handle.requester.requestJsonAndCheck(
                "GET", f"{handle.url}/commits/{quote(ref, safe='')}/status", parameters={"per_page": 100}
            )
            return CombinedStatus(
                sha=data["sha"],
                state=data["state"],
                statuses=[
                    CommitStatus(
                        context=s["context"],
                        state=s["state"],
                        description=s.get("description") or "",
                        updated_at=s.get("updated_at") or "",
                    )
                    for s in data.get("statuses", [])
                ],
            )

    def create_deployment(
        self,
        repo: str,
        sha: str,
        environment: str,
        description: str,
        payload: dict[str, Any] | None = None,
        production: bool = False,
        transient: bool = False,
    ) -> int:
        """A GitHub Deployment of `sha` to `environment`; returns its id. Statuses are not required first:
        fluxgate itself decides when a deployment may start."""
        with calling(f"create deployment of {sha[:12]} to {environment}", repo):
            deployment = self.repo(repo).create_deployment(
                ref=sha,
                task="deploy",
                auto_merge=False,
                required_contexts=[],
                payload=payload or {},
                environment=environment,
                description=trim(description),
                production_environment=production,
                transient_environment=transient,
            )
            return int(deployment.id)

    def deployment_state(self, repo: str, deployment_id: int) -> str | None:
        """The state of a Deployment's newest status (None: no status yet)."""
        with calling(f"read the statuses of deployment {deployment_id}", repo):
            url = f"{self.repo(repo).url}/deployments/{deployment_id}/statuses"
            _headers, data = self._github.requester.requestJsonAndCheck("GET", url, {"per_page": 1})
        return str(data[0]["state"]) if isinstance(data, list) and data else None

    def find_deployment(self, repo: str, sha: str, environment: str) -> int | None:
        """The newest Deployment of `sha` to `environment`, if fluxgate (or anyone) created one."""
        with calling(f"list deployments of {sha[:12]} to {environment}", repo):
            for deployment in self.repo(repo).get_deployments(sha=sha, environment=environment):
                return int(deployment.id)
        return None

    def set_deployment_status(
        self,
        repo: str,
        deployment_id: int,
        state: DeploymentState,
        description: str,
        environment_url: str | None = None,
        log_url: str | None = None,
        auto_inactive: bool = True,
    ) -> None:
        with calling(f"set deployment {deployment_id} to {state}", repo):
            self.repo(repo).get_deployment(deployment_id).create_status(
                state=state,
                description=trim(description),
                auto_inactive=auto_inactive,
                **({"environment_url": environment_url} if environment_url else {}),
                **({"target_url": log_url} if log_url else {}),
            )

    def check_run(
        self,
        repo: str,
        sha: str,
        name: str,
        *,
        status: str = "completed",
        conclusion: str | None = None,
        title: str = "",
        summary: str = "",
        details_url: str | None = None,
        external_id: str | None = None,
    ) -> int:
        """A Check Run with a Markdown summary (GitHub allows these for GitHub App credentials only)."""
        output: dict[str, Any] = {"title": title or name, "summary": summary[:65535]}
        with calling(f"create check run {name!r} on {sha[:12]}", repo):
            run = self.repo(repo).create_check_run(
                name=name,
                head_sha=sha,
                status=status,
                output=output,
                conclusion=conclusion or NotSet,
                details_url=details_url or NotSet,
                external_id=external_id or NotSet,
            )
            return int(run.id)

    def update_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        status: str,
        conclusion: str | None = None,
        title: str = "",
        summary: str = "",
    ) -> None:
        with calling(f"update check run {check_run_id}", repo):
            self.repo(repo).get_check_run(check_run_id).edit(
                status=status,
                output={"title": title, "summary": summary[:65535]},
                conclusion=conclusion or NotSet,
            )

    def dispatch(self, repo: str, event_type: str, payload: dict[str, Any]) -> None:
        """`repository_dispatch`: lets a workflow in `repo` react to a fluxgate event."""
        with calling(f"repository_dispatch {event_type!r}", repo):
            self.repo(repo).create_repository_dispatch(event_type, payload)

    # -- GitHub Actions -----------------------------------------------------------------------------
    def dispatch_workflow(
        self, repo: str, workflow: str | int, ref: str, inputs: dict[str, str]
    ) -> int | None:
        """Start `workflow` (its file name, `verify.yml`, or its id) on branch or tag `ref` with `inputs`.

        Returns the run's id when GitHub answers with it (`return_run_details`); None from a GitHub that
        predates it (then `find_dispatched_run` finds the run). An unknown workflow is `GitHubNotFound`;
        a ref, trigger or inputs GitHub refuses is `GitHubRejected` with GitHub's words.
        """
        handle = self.repo(repo).get_workflow(workflow)  # lazy: no request
        started: bool | GithubWorkflowRun
        with _finding(f"workflow {workflow}", f"dispatch workflow {workflow} at {ref}", repo):
            try:
                started = handle.create_dispatch(ref, inputs, throw=True, return_run_details=True)
            except github.GithubException as exc:
                if exc.status != 422 or "return_run_details" not in str(exc.data):
                    raise
                started = handle.create_dispatch(ref, inputs, throw=True)  # an older GitHub Enterprise
        return int(started.id) if isinstance(started, GithubWorkflowRun) else None

    def default_branch(self, repo: str) -> str:
        with calling("read the repository", repo):
            return str(self.repo(repo).default_branch)

    def commit_of(self, repo: str, ref: str) -> str:
        """The commit a branch, tag or sha names now (one request, no clone)."""
        with calling(f"read commit {ref}", repo):
            return str(self.repo(repo).get_commit(ref).sha)

    def workflow_run(self, repo: str, run_id: int) -> WorkflowRun:
        with _finding(f"workflow run {run_id}", f"read workflow run {run_id}", repo):
            return _workflow_run(repo, self.repo(repo).get_workflow_run(run_id))

    def find_dispatched_run(
        self, repo: str, workflow: str | int, head_sha: str, since: datetime
    ) -> WorkflowRun | None:
        """The run a dispatch started, for a GitHub that does not return its id: the oldest
        `workflow_dispatch` run of `workflow` on `head_sha` created from `since` (taken just before the
        dispatch; `CLOCK_SKEW` is allowed for). GitHub creates the run a moment after answering the
        dispatch, so None may mean "not yet": ask again. Two dispatches of one workflow at one commit
        within seconds cannot be told apart here; the run id from `dispatch_workflow` can.
        """
        created = ">=" + (since.astimezone(UTC) - CLOCK_SKEW).strftime("%Y-%m-%dT%H:%M:%SZ")
        with _finding(f"workflow {workflow}", f"list runs of workflow {workflow} on {head_sha[:12]}", repo):
            runs = (
                self.repo(repo)
                .get_workflow(workflow)
                .get_runs(event="workflow_dispatch", head_sha=head_sha, created=created)
            )
            found = [_workflow_run(repo, run) for run in runs]
        return min(found, key=lambda run: (run.created_at, run.id), default=None)
