"""What the emulated GitHub remembers besides git objects: users, repos, pull requests, statuses,
deployments, check runs, Actions workflows and their runs, hooks and their deliveries.

One `SandboxState` lives behind one lock; it is saved to `state.json` in the data folder after each
change, so `fluxgate sandbox github --data DIR` restarts where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "App",
    "CheckRunRecord",
    "DeliveryAttempt",
    "DeliveryRecord",
    "DeploymentRecord",
    "DeploymentStatusRecord",
    "DispatchRecord",
    "HookRecord",
    "PullRecord",
    "RepoRecord",
    "ReviewRecord",
    "SandboxState",
    "StatusRecord",
    "TokenGrant",
    "User",
    "WorkflowRecord",
    "WorkflowRunRecord",
    "now",
]


def now() -> int:
    return int(time.time())


class User(BaseModel):
    login: str
    id: int
    type: str = "User"  # User | Bot | Organization
    name: str | None = None
    email: str | None = None


class TokenGrant(BaseModel):
    """A credential the emulator accepts: who it acts as, what it may do, and until when."""

    login: str
    write: bool = True
    expires_at: int | None = None  # installation tokens expire; personal tokens don't


class App(BaseModel):
    """A GitHub App: its id, the PEM public key its JWTs verify with, and its installations."""

    id: int
    slug: str
    public_key: str
    installations: list[int] = Field(default_factory=list)
    token_ttl: int = 3600


class ReviewRecord(BaseModel):
    id: int
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    body: str
    commit_id: str
    submitted_at: int


class PullRecord(BaseModel):
    number: int
    id: int
    title: str
    body: str | None
    user: str
    head: str
    base: str
    head_sha: str
    base_sha: str
    state: str = "open"
    draft: bool = False
    labels: list[str] = Field(default_factory=list)
    requested_reviewers: list[str] = Field(default_factory=list)
    requested_teams: list[str] = Field(default_factory=list)
    reviews: list[ReviewRecord] = Field(default_factory=list)
    merged: bool = False
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    created_at: int = Field(default_factory=now)
    updated_at: int = Field(default_factory=now)
    closed_at: int | None = None
    merged_at: int | None = None


class StatusRecord(BaseModel):
    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: int
    updated_at: int


class DeploymentStatusRecord(BaseModel):
    id: int
    state: str
    description: str
    environment: str
    environment_url: str
    log_url: str
    target_url: str
    creator: str
    created_at: int


class DeploymentRecord(BaseModel):
    id: int
    sha: str
    ref: str
    task: str
    payload: dict[str, Any] | str
    environment: str
    description: str | None
    creator: str
    transient_environment: bool
    production_environment: bool
    created_at: int
    updated_at: int
    statuses: list[DeploymentStatusRecord] = Field(default_factory=list)


class CheckRunRecord(BaseModel):
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    external_id: str | None
    details_url: str | None
    title: str | None
    summary: str | None
    text: str | None
    started_at: int | None
    completed_at: int | None
    app_slug: str | None = None


class DispatchRecord(BaseModel):
    event_type: str
    client_payload: dict[str, Any]
    sender: str
    at: int


class WorkflowRecord(BaseModel):
    """An Actions workflow: a `.github/workflows/*.yml` file seen on the default branch keeps its id."""

    id: int
    path: str  # .github/workflows/verify.yml
    name: str  # the file's `name:`, else its path (as GitHub shows it)
    created_at: int
    updated_at: int


class WorkflowRunRecord(BaseModel):
    """One run of a workflow. Nothing executes in the sandbox: a test or the demo completes it."""

    id: int
    workflow_id: int
    path: str
    name: str
    run_number: int
    event: str  # workflow_dispatch
    status: str  # queued | in_progress | completed
    conclusion: str | None
    head_branch: str
    head_sha: str
    inputs: dict[str, Any]  # as the dispatch sent them
    actor: str
    check_suite_id: int
    created_at: int
    updated_at: int


class DeliveryAttempt(BaseModel):
    at: float
    status_code: int  # 0: no answer (connection refused, timeout)
    duration: float
    error: str | None = None


class DeliveryRecord(BaseModel):
    id: int
    guid: str
    hook_id: int
    event: str
    action: str | None
    payload: dict[str, Any]
    redelivery: bool = False
    attempts: list[DeliveryAttempt] = Field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return any(200 <= a.status_code < 300 for a in self.attempts)


class HookRecord(BaseModel):
    id: int
    url: str
    secret: str | None
    events: list[str]
    content_type: str = "json"
    active: bool = True
    created_at: int = Field(default_factory=now)


class RepoRecord(BaseModel):
    id: int
    owner: str
    name: str
    default_branch: str
    private: bool = True
    protected: dict[str, int] = Field(default_factory=dict)  # branch -> approving reviews required
    required_checks: dict[str, list[str]] = Field(default_factory=dict)  # branch -> status contexts
    next_number: int = 1
    pulls: dict[int, PullRecord] = Field(default_factory=dict)
    statuses: list[StatusRecord] = Field(default_factory=list)
    deployments: dict[int, DeploymentRecord] = Field(default_factory=dict)
    check_runs: dict[int, CheckRunRecord] = Field(default_factory=dict)
    dispatches: list[DispatchRecord] = Field(default_factory=list)
    workflows: dict[str, WorkflowRecord] = Field(default_factory=dict)  # path -> workflow
    workflow_runs: dict[int, WorkflowRunRecord] = Field(default_factory=dict)
    hooks: dict[int, HookRecord] = Field(default_factory=dict)
    created_at: int = Field(default_factory=now)
    pushed_at: int = Field(default_factory=now)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def take_number(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number


class SandboxState(BaseModel):
    users: dict[str, User] = Field(default_factory=dict)
    tokens: dict[str, TokenGrant] = Field(default_factory=dict)
    apps: dict[int, App] = Field(default_factory=dict)
    repos: dict[str, RepoRecord] = Field(default_factory=dict)  # "owner/name" (lower case) -> repo
    deliveries: list[DeliveryRecord] = Field(default_factory=list)
    next_id: int = 1000

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def user(self, login: str, kind: str = "User") -> User:
        if login not in self.users:
            self.users[login] = User(login=login, id=self.take_id(), type=kind)
        return self.users[login]

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SandboxState:
        return cls.model_validate_json(path.read_text()) if path.exists() else cls()
