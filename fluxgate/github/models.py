"""What the gateway hands back: plain, typed snapshots of GitHub objects (no PyGithub types leak out)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from fluxgate.github.pr_text import Promotion

__all__ = [
    "CombinedStatus",
    "CommitState",
    "CommitStatus",
    "DeploymentState",
    "MergeMethod",
    "PromotionOutcome",
    "PullRequestState",
    "Review",
    "WorkflowRunState",
]

CommitState = Literal["pending", "success", "failure", "error"]
DeploymentState = Literal["queued", "in_progress", "success", "failure", "error", "inactive"]
MergeMethod = Literal["merge", "squash", "rebase"]


class CommitStatus(BaseModel):
    context: str
    state: CommitState
    description: str
    updated_at: str  # ISO 8601, as GitHub gives it


class CombinedStatus(BaseModel):
    """A ref's commit and the latest status per context on it."""

    sha: str
    state: CommitState
    statuses: list[CommitStatus]


class Review(BaseModel):
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    commit: str | None


class PullRequestState(BaseModel):
    repo: str
    number: int
    url: str
    title: str
    state: Literal["open", "closed"]
    merged: bool
    merge_sha: str | None
    merged_by: str | None
    head_branch: str
    head_sha: str
    base_branch: str
    promotion: Promotion | None  # the hidden marker, for PRs fluxgate opened
    reviews: list[Review] = []

    @property
    def approved(self) -> bool:
        """Approved at the current head by someone, with no outstanding request for changes."""
        latest: dict[str, Review] = {}
        for review in self.reviews:
            if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[review.user] = review
        states = {r.state for r in latest.values() if r.commit in (None, self.head_sha)}
        return "APPROVED" in states and "CHANGES_REQUESTED" not in states


class PromotionOutcome(BaseModel):
    """What `promote` did. `status` is one of:

    - `opened`: a new commit, branch and PR;
    - `reused`: the open PR for this (app, env, version) already carries exactly these files;
    - `updated`: the PR existed, its branch now carries the new render;
    - `merged_before`: this exact change was already merged through its PR;
    - `no_changes`: the environment already matches; nothing was opened.
    """

    status: Literal["opened", "reused", "updated", "merged_before", "no_changes"]
    message: str
    head_branch: str
    base_sha: str
    commit_sha: str | None = None
    pull_request: PullRequestState | None = None
    added: int = 0
    changed: int = 0
    deleted: int = 0


class WorkflowRunState(BaseModel):
    """One GitHub Actions workflow run and where it stands."""

    id: int
    name: str | None  # the workflow's `name:` (GitHub shows the file's path when it has none)
    path: str  # .github/workflows/verify.yml
    event: str  # workflow_dispatch, push, ...
    head_branch: str | None
    head_sha: str
    status: str | None  # requested | queued | waiting | pending | in_progress | completed
    conclusion: str | None  # success | failure | cancelled | timed_out | ... once completed
    html_url: str
    created_at: datetime
