"""A local, shallow copy of a manifests branch: the base a promotion is planned against.

Planning reads the base commit (its tree and every file's blob id) from git, not the REST API: one
`git fetch --depth 1` costs the same for 10 files or 10,000, and the change summary in the PR body
is computed from the very commit the promotion commit will sit on. The token travels in an
`http.extraHeader` set through `GIT_CONFIG_*` environment variables, never on a command line or in
a URL, so it cannot show up in `ps`, git's error messages or our logs.
"""

from __future__ import annotations

import base64
import fcntl
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from fluxgate.errors import ToolMissing
from fluxgate.github.errors import GitHubAuthError, GitHubNotFound, GitHubUnavailable

__all__ = ["Snapshot", "fetch_snapshot"]


class Snapshot(BaseModel):
    """A branch head as fetched: its commit, its root tree, and `path -> blob sha` for every file."""

    repo: str
    branch: str
    commit: str
    tree: str
    files: dict[str, str]
    git_dir: Path


def _git(git_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    try:
        result = subprocess.run(
            ["git", f"--git-dir={git_dir}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolMissing("git is not installed: fluxgate needs it to read the manifests repo") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitHubUnavailable(f"git {args[0]} timed out after {timeout:.0f} s", 10.0) from exc
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, args[0], result.stdout, result.stderr)
    return result.stdout


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One git process at a time per cache: stage runs on one machine share it, and concurrent shallow
    fetches into one repository fail ("shallow file has changed since we read it")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch_snapshot(
    web_url: str, repo: str, branch: str, token: str, cache: Path, timeout: float = 120
) -> Snapshot:
    """Fetch `branch` of `repo` into a bare cache under `cache` and list it."""
    with _locked(cache / f"{repo}.lock"):
        return _fetch_snapshot(web_url, repo, branch, token, cache, timeout)


def _fetch_snapshot(
    web_url: str, repo: str, branch: str, token: str, cache: Path, timeout: float
) -> Snapshot:
    git_dir = cache / f"{repo}.git"
    if not (git_dir / "HEAD").exists():
        git_dir.mkdir(parents=True, exist_ok=True)
        _git(git_dir, "init", "--quiet", "--bare")
    header = "Authorization: Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
    env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader", "GIT_CONFIG_VALUE_0": header}
    local = f"refs/fluxgate/base/{branch}"
    try:
        _git(
            git_dir,
            "fetch",
            "--quiet",
            "--depth=1",
            "--no-tags",
            f"{web_url}/{repo}.git",
            f"+refs/heads/{branch}:{local}",
            env=env,
            timeout=timeout,
        )
    except subprocess.CalledProcessError as exc:
        said = " ".join(str(exc.stderr).replace(token, "***").split())[:200]
        reason = said.replace(f"{web_url}/{repo}.git", "")  # its port or name may hold "401" or "403"
        if "couldn't find remote ref" in reason:
            raise GitHubNotFound(
                f"{repo} has no branch {branch!r}: create it, or fix manifests.branch"
            ) from None
        if "Authentication failed" in reason or "401" in reason or "403" in reason:
            raise GitHubAuthError(
                f"git fetch of {repo} was refused: the token cannot read the repository"
            ) from None
        if "not found" in reason.lower() or "404" in reason:
            raise GitHubNotFound(
                f"git fetch of {repo}: repository not found or not visible to the token"
            ) from None
        raise GitHubUnavailable(f"git fetch of {repo} failed: {said}", 10.0) from None
    commit = _git(git_dir, "rev-parse", local).strip()
    tree = _git(git_dir, "rev-parse", f"{commit}^{{tree}}").strip()
    files: dict[str, str] = {}
    for record in _git(git_dir, "ls-tree", "-r", "-z", "--full-tree", commit).split("\0"):
        if record:
            meta, path = record.split("\t", 1)
            files[path] = meta.split()[2]
    return Snapshot(repo=repo, branch=branch, commit=commit, tree=tree, files=files, git_dir=git_dir)
