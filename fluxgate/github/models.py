"""Plain, typed snapshots of GitHub objects: one model per object, whichever way it arrives.

The gateway maps REST answers into these (no PyGithub type leaks out), and the connector's webhook
parser maps deliveries into the same models (`fluxgate.connector.github_events`), so a pull request
read over REST and one announced by a webhook compare equal field by field.
"""

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
    "PullRequest",
    "Review",
    "ReviewState",
    "WorkflowRun",
]

CommitState = Literal["pending", "success", "failure", "error"]
DeploymentState = Literal["queued", "in_progress", "success", "failure", "error", "inactive"]
MergeMethod = Literal["merge", "squash", "rebase"]
# As the REST API spells them; webhooks send them lower-case and are upper-cased on the way in.
ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]


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
    user: str | None  # None for a deleted account
    state: ReviewState
    commit: str | None


class PullRequest(BaseModel):
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
        latest: dict[str | None, Review] = {}
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
    pull_request: PullRequest | None = None
    added: int = 0
    changed: int = 0
    deleted: int = 0


class WorkflowRun(BaseModel):
    """One GitHub Actions workflow run and where it stands."""

    repo: str
    id: int
    name: str | None  # the workflow's `name:` (GitHub shows the file's path when it has none)
    path: str | None  # .github/workflows/verify.yml (missing from some older webhook payloads)
    event: str  # workflow_dispatch, push, ...
    head_branch: str | None
    head_sha: str
    status: str | None  # requested | queued | waiting | pending | in_progress | completed
    conclusion: str | None  # success | failure | cancelled | timed_out | ... once completed
    html_url: str
    created_at: datetime
