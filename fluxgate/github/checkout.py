"""Local, shallow copies of repositories: the manifests branch a promotion is planned against, and
the commits of the code and config repositories a stage renders from.

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
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from fluxgate.errors import ToolMissing
from fluxgate.github.errors import GitHubAuthError, GitHubNotFound, GitHubUnavailable

__all__ = ["Snapshot", "SourceTree", "fetch_snapshot", "fetch_source"]


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


def _header_env(token: str) -> dict[str, str]:
    header = "Authorization: Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader", "GIT_CONFIG_VALUE_0": header}


def _bare(cache: Path, repo: str) -> Path:
    """The cache's bare repository of `repo`, ready for a fetch. Called under the repository's lock,
    so any `*.lock` git left is from a git killed mid-fetch (a `kill -9`, an OOM kill): git would
    refuse every later fetch ("shallow.lock: File exists"), so they are removed."""
    git_dir = cache / f"{repo}.git"
    if not (git_dir / "HEAD").exists():
        git_dir.mkdir(parents=True, exist_ok=True)
        _git(git_dir, "init", "--quiet", "--bare")
    for stale in [*git_dir.glob("*.lock"), *(git_dir / "refs").rglob("*.lock")]:
        stale.unlink(missing_ok=True)
    return git_dir


def _fetch(
    git_dir: Path, web_url: str, repo: str, what: str, refspec: str, token: str, timeout: float
) -> None:
    """One shallow `git fetch`; its failure as the GitHub error it means, naming `repo` and `what`."""
    try:
        _git(
            git_dir,
            "fetch",
            "--quiet",
            "--depth=1",
            "--no-tags",
            f"{web_url}/{repo}.git",
            refspec,
            env=_header_env(token),
            timeout=timeout,
        )
    except subprocess.CalledProcessError as exc:
        said = " ".join(str(exc.stderr).replace(token, "***").split())[:200]
        reason = said.replace(f"{web_url}/{repo}.git", "")  # its port or name may hold "401" or "403"
        if "couldn't find remote ref" in reason or "not our ref" in reason:
            raise GitHubNotFound(f"{repo} has no {what}") from None
        if "Authentication failed" in reason or "401" in reason or "403" in reason:
            raise GitHubAuthError(
                f"git fetch of {repo} was refused: the token cannot read the repository"
            ) from None
        if "not found" in reason.lower() or "404" in reason:
            raise GitHubNotFound(
                f"git fetch of {repo}: repository not found or not visible to the token"
            ) from None
        raise GitHubUnavailable(f"git fetch of {repo} failed: {said}", 10.0) from None


def fetch_snapshot(
    web_url: str, repo: str, branch: str, token: str, cache: Path, timeout: float = 120
) -> Snapshot:
    """Fetch `branch` of `repo` into a bare cache under `cache` and list it."""
    with _locked(cache / f"{repo}.lock"):
        return _fetch_snapshot(web_url, repo, branch, token, cache, timeout)


def _fetch_snapshot(
    web_url: str, repo: str, branch: str, token: str, cache: Path, timeout: float
) -> Snapshot:
    git_dir = _bare(cache, repo)
    local = f"refs/fluxgate/base/{branch}"
    try:
        _fetch(git_dir, web_url, repo, f"branch {branch!r}", f"+refs/heads/{branch}:{local}", token, timeout)
    except GitHubNotFound as exc:
        if exc.message == f"{repo} has no branch {branch!r}":
            raise GitHubNotFound(f"{exc.message}: create it, or fix manifests.branch") from None
        raise
    commit = _git(git_dir, "rev-parse", local).strip()
    tree = _git(git_dir, "rev-parse", f"{commit}^{{tree}}").strip()
    files: dict[str, str] = {}
    for record in _git(git_dir, "ls-tree", "-r", "-z", "--full-tree", commit).split("\0"):
        if record:
            meta, path = record.split("\t", 1)
            files[path] = meta.split()[2]
    return Snapshot(repo=repo, branch=branch, commit=commit, tree=tree, files=files, git_dir=git_dir)


class SourceTree(BaseModel):
    """A commit of a repository as files on disk: what a stage renders from.

    `fetched` says whether it cost a `git fetch` (False: the commit was in the cache already)."""

    repo: str
    commit: str
    root: Path
    fetched: bool


def _is_commit(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)


def fetch_source(
    web_url: str, repo: str, ref: str, token: Callable[[], str], cache: Path, timeout: float = 120
) -> SourceTree:
    """The files of `repo` at `ref` (a full commit sha, a branch or a tag), under `cache/trees`.

    A commit already in the cache costs nothing; a name costs one shallow fetch, which resolves it
    and brings its files at once. Trees are immutable by commit, so one is written once (to a
    temporary folder renamed into place: a crash leaves no half tree) and shared by every stage.
    `token` is asked for only when a fetch is needed (an App's token may cost a request).
    """
    if not ref or ref.startswith("-") or any(c.isspace() or ord(c) < 32 for c in ref) or ".." in ref:
        raise GitHubNotFound(f"{repo}: {ref!r} is not a branch, tag or commit")
    with _locked(cache / f"{repo}.lock"):
        git_dir = _bare(cache, repo)
        fetched = False
        if not (_is_commit(ref) and _has_commit(git_dir, ref)):
            what = f"commit {ref}" if _is_commit(ref) else f"branch or tag {ref!r}"
            _fetch(git_dir, web_url, repo, what, ref, token(), timeout)
            fetched = True
        commit = _git(git_dir, "rev-parse", "FETCH_HEAD^{commit}" if fetched else ref).strip()
        root = _tree(cache, repo, git_dir, commit)
    return SourceTree(repo=repo, commit=commit, root=root, fetched=fetched)


def _has_commit(git_dir: Path, commit: str) -> bool:
    try:
        _git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}")
    except subprocess.CalledProcessError:
        return False
    return True


def _tree(cache: Path, repo: str, git_dir: Path, commit: str) -> Path:
    """The commit's files in `cache/trees/<repo>/<commit>`; symlinks become plain files holding their
    target, so a template can never read a file outside the tree."""
    root = cache / "trees" / repo / commit
    if root.is_dir():
        os.utime(root)  # recently used: kept when old trees are pruned
        return root
    for left in root.parent.glob(f".{commit}.*"):  # a writer killed midway (we hold the lock)
        if left.is_dir():
            shutil.rmtree(left, ignore_errors=True)
        else:
            left.unlink(missing_ok=True)
    scratch = root.with_name(f".{commit}.{os.getpid()}")
    scratch.mkdir(parents=True)
    index = scratch.with_name(f".{commit}.{os.getpid()}.index")
    env = {"GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(scratch)}
    try:
        _git(git_dir, "-c", "core.symlinks=false", "read-tree", commit, env=env)
        _git(git_dir, "-c", "core.symlinks=false", "checkout-index", "--all", env=env)
        scratch.rename(root)
    finally:
        index.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
    _prune(root.parent, keep=root)
    return root


KEEP_TREES = 50  # per repository: a runner's disk holds the commits of its recent stages, not all ever
_IDLE = 3600.0  # and never a tree used in the last hour (a stage may be rendering from it)


def _prune(trees: Path, keep: Path) -> None:
    """Remove the least recently used trees of a repository beyond `KEEP_TREES` (a later stage that
    needs one fetches it again)."""
    found = sorted((p for p in trees.iterdir() if p.is_dir() and not p.name.startswith(".")),
                   key=lambda p: p.stat().st_mtime, reverse=True)  # fmt: skip
    now = time.time()
    for old in found[KEEP_TREES:]:
        if old != keep and now - old.stat().st_mtime > _IDLE:
            shutil.rmtree(old, ignore_errors=True)
