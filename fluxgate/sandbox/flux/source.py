"""The simulated source-controller: one cluster's view of the manifests branch, over real git smart HTTP.

A real GitRepository lists the remote branch every interval and fetches only when the head moved;
this does the same with `git ls-remote` and `git fetch` into a bare cache under the cluster's data
folder, so the emulated GitHub sees the traffic a cluster would cause. The token travels in an
`http.extraHeader` set through `GIT_CONFIG_*` environment variables (never argv or a URL), and every
message that leaves this module has it masked.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path

__all__ = ["GitSource", "SourceError", "short_message"]

_TIMEOUT = 30.0


class SourceError(Exception):
    """The branch could not be listed or fetched; the message is source-controller's, token masked."""


def short_message(message: str) -> str:
    """A commit subject as Flux quotes it: the first line, cut after 50 characters with `...`."""
    subject = message.split("\n", 1)[0]
    return subject[:50] + "..." if len(subject) > 50 else subject


class GitSource:
    """The branch `branch` of `url` (`<emulator>/<owner>/<name>.git`), cached in the bare repo `git_dir`."""

    def __init__(self, url: str, branch: str, token: str, git_dir: Path) -> None:
        self.url, self.branch, self.git_dir = url, branch, git_dir
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        self._secrets = [s for s in (token, basic) if s]
        index = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)  # keep any config the caller gives git
        self._env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_COUNT": str(index + 1),
            f"GIT_CONFIG_KEY_{index}": "http.extraHeader",
            f"GIT_CONFIG_VALUE_{index}": f"Authorization: Basic {basic}",
        }

    def _mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _git(self, *args: str, what: str) -> bytes:
        try:
            done = subprocess.run(
                ["git", f"--git-dir={self.git_dir}", *args],
                capture_output=True, env=self._env, timeout=_TIMEOUT, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise SourceError(f"{what}: git {args[0]} timed out after {_TIMEOUT:.0f}s") from None
        if done.returncode != 0:
            said = " ".join(self._mask(done.stderr.decode(errors="replace")).split())[:300]
            raise SourceError(f"{what}: {said or f'git {args[0]} exited with {done.returncode}'}")
        return done.stdout

    def head(self) -> str:
        """The commit the remote branch points at (`git ls-remote`)."""
        what = f"failed to checkout and determine revision: unable to list remote for '{self.url}'"
        listed = self._git("ls-remote", self.url, f"refs/heads/{self.branch}", what=what).decode().split()
        if not listed:
            raise SourceError(f"{what}: couldn't find remote ref \"refs/heads/{self.branch}\"")
        return listed[0]

    def fetch(self) -> str:
        """Fetch the branch into the cache; the commit fetched (the head may have moved since `head`)."""
        if not (self.git_dir / "HEAD").exists():
            self.git_dir.mkdir(parents=True, exist_ok=True)
            self._git("init", "--quiet", "--bare", what="cannot create the artifact cache")
        local = f"refs/flux/{self.branch}"
        what = f"failed to checkout and determine revision: unable to clone '{self.url}'"
        self._git("fetch", "--quiet", "--no-tags", self.url, f"+refs/heads/{self.branch}:{local}", what=what)
        return self._git("rev-parse", local, what="cannot read the fetched ref").decode().strip()

    def subject(self, commit: str) -> str:
        return self._git("log", "-1", "--format=%B", commit, what="cannot read the commit").decode().strip()

    def digest(self, commit: str) -> str:
        """`sha256:<hex>` of the commit's content: what source-controller reports for its artifact."""
        archive = self._git("archive", "--format=tar", commit, what="cannot archive the commit")
        return "sha256:" + hashlib.sha256(archive).hexdigest()

    def files(self, commit: str, folder: str) -> dict[str, bytes] | None:
        """Every `*.yaml` / `*.yml` below `folder` at `commit`, by path in path order; None without it."""
        folder = folder.strip("/")
        if folder in ("", "."):
            args = ["archive", "--format=tar", commit]
        else:
            listed = self._git("ls-tree", "--name-only", commit, "--", folder, what="cannot list the commit")
            if not listed.strip():
                return None
            args = ["archive", "--format=tar", commit, "--", folder]
        archive = self._git(*args, what="cannot archive the commit")
        found: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith((".yaml", ".yml")):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        found[member.name] = handle.read()
        return dict(sorted(found.items()))
