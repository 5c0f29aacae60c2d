"""The emulated GitHub's state and the operations every endpoint shares.

`Emulator` owns the data folder (bare repositories under `repos/`, metadata in `state.json`),
one lock that serialises all changes (requests run in a thread pool), the webhook dispatcher,
the request log, injected faults and rate limits. Endpoints live in the `api_*` modules.

Rate limits (`rate_limits.py`): every REST answer but an injected fault's carries GitHub's primary
`X-RateLimit-*` headers, counted per credential per hour (5000) but never enforced. `secondary_limits`
turns on GitHub's secondary limits for content-creating requests, sliding windows per token:
`Emulator(data, secondary_limits=[(80, 60.0), (500, 3600.0)])` is GitHub's documented rule
(`GITHUB_SECONDARY_LIMITS`; `fluxgate sandbox github --secondary-limit github`). A POST, PATCH, PUT or
DELETE to the REST API that would exceed a window is refused, before any fault or endpoint (latency
still applies), with `secondary_limit_status` (403, GitHub's usual answer, or 429), GitHub's body
`{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try
again. ...", "documentation_url": ..., "status": "403"}` and `Retry-After` (whole seconds until the
oldest write of the full window leaves it, at least 1); the refusal is logged in `requests` with its
status and `rate_limited` set. Reads, git over HTTP and `/_sandbox` never count. `clock` (default
`time.time`) is what the limits read: tests inject one to slide a window without sleeping through it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxgate.github.limits import Window
from fluxgate.sandbox.github.errors import ApiError, not_found
from fluxgate.sandbox.github.gitrepo import GitRepo, Person
from fluxgate.sandbox.github.rate_limits import Clock, RateLimits
from fluxgate.sandbox.github.state import (
    App,
    HookRecord,
    RepoRecord,
    SandboxState,
    TokenGrant,
    User,
    WorkflowRunRecord,
    now,
)
from fluxgate.sandbox.github.views import Urls
from fluxgate.sandbox.github.webhooks import Dispatcher

__all__ = ["Emulator", "Fault", "RequestRecord", "files_in"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def files_in(root: Path) -> dict[str, str | bytes]:
    """Every file under `root` by its path relative to it: a folder as a commit pushes it."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

CONCLUSIONS = ("success", "failure", "cancelled", "skipped", "timed_out", "neutral", "action_required",
               "stale", "startup_failure")


@dataclass
class RequestRecord:
    """One answered API request: what tests and benchmarks count."""

    method: str
    path: str
    route: str  # the REST description's path template, e.g. /repos/{owner}/{repo}/git/trees
    status: int
    query: str = ""
    body: Any = None  # the JSON answered, kept only when `record_bodies` is on
    at: float = 0.0  # time.time() when the answer started
    client: str = ""  # the caller's host:port: tells one process's connections from another's
    swallowed: bool = False  # applied, but the caller got a `Fault.swallow` error instead of this answer
    rate_limited: bool = False  # refused by a secondary rate limit (`Emulator(secondary_limits=...)`)


@dataclass
class Fault:
    """Answer the next `times` requests matching `method` and `path` (a regex) with `status`.

    With `swallow` (seconds), the request is carried out first (its effect applied, logged in
    `Emulator.requests` with the real answer and `swallowed` set), then the answer is dropped, and
    `status` follows after `swallow` seconds: GitHub did it, but the caller cannot know.
    """

    status: int
    path: str = ".*"
    method: str = "*"
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Server Error"
    swallow: float | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.method in ("*", method) and re.search(self.path, path) is not None


class Emulator:
    def __init__(self, data: Path, *, webhook_attempts: int = 3, webhook_backoff: float = 0.5,
                 record_bodies: bool = False, latency: float = 0.0,
                 secondary_limits: Sequence[Window] | None = None, secondary_limit_status: int = 403,
                 clock: Clock | None = None) -> None:
        self.latency = latency  # seconds added to every API answer, without holding the lock (benchmarks)
        # GitHub's rate limits (module docstring); ValueError for a window or status GitHub would not use
        self.rate_limits = RateLimits(secondary_limits, secondary_limit_status, clock)
        self.data = data
        (data / "repos").mkdir(parents=True, exist_ok=True)
        self._state_file = data / "state.json"
        self.state = SandboxState.load(self._state_file)
        self.lock = threading.RLock()
        self.dispatcher = Dispatcher(self.save, attempts=webhook_attempts, backoff=webhook_backoff)
        self.requests: list[RequestRecord] = []
        self.faults: list[Fault] = []
        self.record_bodies = record_bodies
        self.base_url = "http://127.0.0.1"  # set by the server once it knows its port
        self._dirty = threading.Event()
        self._closed = threading.Event()
        self._saver = threading.Thread(target=self._save_loop, name="github-emulator-saver", daemon=True)
        self._saver.start()

    # -- bookkeeping ----------------------------------------------------------------------------
    def save(self) -> None:
        """Mark the state changed; it reaches state.json within a second (writing the whole state
        after every request made a busy emulator quadratic)."""
        self._dirty.set()

    def flush(self) -> None:
        with self.lock:
            self._dirty.clear()
            self.state.save(self._state_file)

    def _save_loop(self) -> None:
        while not self._closed.wait(0.5):
            if self._dirty.is_set():
                self.flush()

    def close(self) -> None:
        self.dispatcher.close()
        self._closed.set()
        self._saver.join(timeout=5)
        self.flush()

    @property
    def urls(self) -> Urls:
        return Urls(self.base_url)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def calls(self, since: int = 0) -> list[RequestRecord]:
        return self.requests[since:]

    # -- lookups --------------------------------------------------------------------------------
    def repo(self, owner: str, name: str) -> tuple[RepoRecord, GitRepo]:
        record = self.state.repos.get(f"{owner}/{name}".lower())
        if record is None:
            raise not_found()
        return record, self.git(record)

    def head(self, full_name: str, branch: str = "main") -> str:
        """The commit `branch` of `full_name` points at; a 404 `ApiError` when there is none."""
        _record, git = self.repo(*full_name.split("/", 1))
        sha = git.ref(f"refs/heads/{branch}")
        if sha is None:
            raise not_found()
        return sha

    def git(self, record: RepoRecord) -> GitRepo:
        return GitRepo(self.data / "repos" / record.owner / f"{record.name}.git")

    def user(self, login: str) -> User:
        return self.state.user(login, "Bot" if login.endswith("[bot]") else "User")

    def grant(self, token: str) -> TokenGrant | None:
        grant = self.state.tokens.get(token)
        if grant is None or (grant.expires_at is not None and grant.expires_at <= now()):
            return None
        return grant

    # -- set-up (tests, demo, `fluxgate sandbox github`) ----------------------------------------
    def add_token(self, token: str, login: str, write: bool = True) -> None:
        with self.lock:
            self.user(login)
            self.state.tokens[token] = TokenGrant(login=login, write=write)
            self.save()

    def add_app(self, app_id: int, slug: str, public_key: str, installations: list[int],
                token_ttl: int = 3600) -> None:
        with self.lock:
            self.user(f"{slug}[bot]")
            self.state.apps[app_id] = App(id=app_id, slug=slug, public_key=public_key,
                                          installations=installations, token_ttl=token_ttl)
            self.save()

    def create_repo(self, full_name: str, default_branch: str = "main",
                    files: dict[str, str | bytes] | None = None) -> RepoRecord:
        owner, _, name = full_name.partition("/")
        if not (_NAME.match(owner) and _NAME.match(name)):
            raise ValueError(f"not a repository name: {full_name!r}")
        with self.lock:
            if full_name.lower() in self.state.repos:
                raise ValueError(f"repository {full_name} exists")
            record = RepoRecord(id=self.state.take_id(), owner=owner, name=name,
                                default_branch=default_branch)
            self.user(owner)
            GitRepo.init(self.git(record).path, default_branch)
            self.state.repos[full_name.lower()] = record
            self.commit_files(full_name, default_branch, files or {"README.md": f"# {name}\n"},
                              "Initial commit", author=owner)
            self.save()
            return record

    def protect_branch(self, full_name: str, branch: str, approvals: int = 1,
                       checks: list[str] | None = None) -> None:
        """Branch protection: approving reviews and required status check contexts before a merge."""
        with self.lock:
            record, _ = self.repo(*full_name.split("/", 1))
            record.protected[branch] = approvals
            record.required_checks[branch] = list(checks or [])
            self.save()

    def add_hook(self, full_name: str, url: str, secret: str | None, events: list[str]) -> HookRecord:
        from fluxgate.sandbox.github.payloads import ping_payload

        with self.lock:
            record, _ = self.repo(*full_name.split("/", 1))
            hook = HookRecord(id=self.state.take_id(), url=url, secret=secret, events=events)
            record.hooks[hook.id] = hook
            self.deliver(record, hook, "ping", ping_payload(self, record, hook))
            self.save()
            return hook

    def commit_files(self, full_name: str, branch: str, files: dict[str, str | bytes], message: str,
                     author: str, deletes: tuple[str, ...] = ()) -> str:
        """A push of one commit changing `files` (what a developer's `git push` would do): hooks hear of it
        and open pull requests from `branch` move to the new head."""
        from fluxgate.sandbox.github.api_pulls import on_head_moved
        from fluxgate.sandbox.github.payloads import push_payload

        with self.lock:
            record, git = self.repo(*full_name.split("/", 1))
            ref = f"refs/heads/{branch}"
            old = git.ref(ref)
            current = git.files(git.read_commit(old).tree) if old else {}
            for path, content in files.items():
                data = content.encode() if isinstance(content, str) else content
                current[path] = ("100644", git.write_blob(data))
            for path in deletes:
                current.pop(path, None)
            person = Person(author, f"{author}@users.noreply.github.com", now())
            sha = git.write_commit(git.write_tree(current), [old] if old else [], message, person, person)
            git.set_ref(ref, sha, old)
            record.pushed_at = now()
            self.emit(record, "push", push_payload(self, record, ref, old, sha, author))
            on_head_moved(self, author, record, branch, sha)
            self.save()
            return sha

    # -- GitHub Actions: no job runs here; tests and the demo play the runner ----------------------
    def add_workflow(self, full_name: str, file_name: str, inputs: list[str] | tuple[str, ...] = (),
                     name: str | None = None) -> str:
        """Commit `.github/workflows/<file_name>` to the default branch: a workflow that `workflow_dispatch`
        starts with the given required string inputs. Returns the commit's sha."""
        from fluxgate.sandbox.github.workflows import WORKFLOWS, workflow_yaml

        with self.lock:
            record, _ = self.repo(*full_name.split("/", 1))
            text = workflow_yaml(name or file_name.rsplit(".", 1)[0], list(inputs))
            return self.commit_files(full_name, record.default_branch, {f"{WORKFLOWS}/{file_name}": text},
                                     f"Add workflow {file_name}", author=record.owner)

    def workflow_runs(self, full_name: str) -> list[WorkflowRunRecord]:
        """Every run of the repo's workflows, oldest first, with the inputs its dispatch sent (copies)."""
        with self.lock:
            record, _ = self.repo(*full_name.split("/", 1))
            return [run.model_copy(deep=True) for run in record.workflow_runs.values()]

    def complete_workflow_run(self, full_name: str, run_id: int,
                              conclusion: str = "success") -> WorkflowRunRecord:
        """Finish a run as its runner would: status `completed` with `conclusion`, and the `workflow_run`
        `completed` webhook. Raises ValueError for an unknown or finished run, or an unknown conclusion."""
        from fluxgate.sandbox.github.payloads import workflow_run_payload

        if conclusion not in CONCLUSIONS:
            raise ValueError(f"not a workflow run conclusion: {conclusion!r} ({', '.join(CONCLUSIONS)})")
        with self.lock:
            record, _ = self.repo(*full_name.split("/", 1))
            run = record.workflow_runs.get(run_id)
            if run is None:
                raise ValueError(f"no workflow run {run_id} in {full_name}")
            if run.status == "completed":
                raise ValueError(f"workflow run {run_id} in {full_name} already completed ({run.conclusion})")
            run.status, run.conclusion, run.updated_at = "completed", conclusion, now()
            workflow = next(w for w in record.workflows.values() if w.id == run.workflow_id)
            self.emit(record, "workflow_run", workflow_run_payload(self, record, workflow, run, "completed"))
            self.save()
            return run.model_copy(deep=True)

    # -- events ---------------------------------------------------------------------------------
    def emit(self, record: RepoRecord, event: str, payload: dict[str, Any]) -> None:
        """Queue a delivery of `event` to every active hook of the repo that subscribed to it."""
        for hook in record.hooks.values():
            if hook.active and ("*" in hook.events or event in hook.events):
                self.deliver(record, hook, event, payload)

    def deliver(self, record: RepoRecord, hook: HookRecord, event: str, payload: dict[str, Any],
                redelivery: bool = False) -> None:
        delivery = self.dispatcher.new_delivery(self.state.take_id(), hook, event, payload, redelivery)
        self.state.deliveries.append(delivery)


def raise_for_write(grant: TokenGrant | None) -> None:
    if grant is not None and not grant.write:
        raise ApiError(403, "Resource not accessible by personal access token")
