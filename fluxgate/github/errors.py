"""GitHub failures as fluxgate errors: one line naming the repo, the operation and the likely cause.

```
PermanentError
├── GitHubAuthError        401: the token or app key is wrong or expired
├── GitHubForbidden        403: the token lacks a permission, or a rule (branch protection) forbids it
├── GitHubNotFound         404: the repository, branch or object is missing, or the token cannot see it
├── GitHubRejected         422 / 409: GitHub refused the request's content (invalid, exists, not fast-forward)
└── GitHubNotMergeable     405: reviews missing, checks failing, or a merge conflict
RetryableError
└── GitHubUnavailable      5xx, 429 or rate limits after retries, timeouts, connection errors
    ├── GitHubRateLimited  a primary or secondary rate limit refused it; `retry_after` is GitHub's ask
    └── RateLimitWait      GitHub asks for a longer wait than the retry policy blocks for
```
PyGithub, requests and urllib3 exceptions are converted here and nowhere else (`calling()`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import github
import requests

from fluxgate.errors import PermanentError, RetryableError, one_line

__all__ = [
    "GitHubAuthError",
    "GitHubForbidden",
    "GitHubNotFound",
    "GitHubNotMergeable",
    "GitHubRateLimited",
    "GitHubRejected",
    "GitHubUnavailable",
    "RateLimitWait",
    "calling",
]


class GitHubAuthError(PermanentError):
    """401."""


class GitHubForbidden(PermanentError):
    """403 that is not a rate limit."""


class GitHubNotFound(PermanentError):
    """404."""


class GitHubRejected(PermanentError):
    """422 or 409: `github_message` holds GitHub's own words, for callers that branch on them."""

    def __init__(self, message: str, github_message: str = "") -> None:
        super().__init__(message)
        self.github_message = github_message


class GitHubNotMergeable(PermanentError):
    """405 on merge."""


class GitHubUnavailable(RetryableError):
    """GitHub did not answer usefully after retries; try again after `retry_after` seconds."""


class GitHubRateLimited(GitHubUnavailable):
    """A rate limit refused the request (nothing was done); `retry_after` is when GitHub said to come
    back: whoever shares the credential should wait too."""


class RateLimitWait(GitHubUnavailable):
    """Raised inside the retry policy when GitHub asks for a longer wait than we are willing to block
    (`calling()` names the operation and repo)."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"GitHub asks to wait {wait:.0f} s", wait)
        self.wait = wait


_CAUSE = {
    401: "the token or GitHub App key is wrong, revoked or expired",
    403: "the token lacks permission (contents, pull requests, statuses, deployments, checks or actions: "
    "write) or a branch protection rule forbids it",
    404: "the repository does not exist or the token cannot see it (private repo, wrong owner, scope)",
    405: "the pull request is not mergeable: required reviews or checks are missing, or it conflicts",
}


def github_message(data: Any) -> str:
    """GitHub's own explanation: `message` plus the first `errors[].message`, one line."""
    if not isinstance(data, dict):
        return one_line(data) if data else ""
    message = str(data.get("message") or "")
    for error in data.get("errors") or []:
        if isinstance(error, dict) and error.get("message"):
            message = f"{message}: {error['message']}" if message else str(error["message"])
            break
        if isinstance(error, dict) and error.get("field"):
            message = f"{message}: {error.get('field')} {error.get('code', 'invalid')}"
            break
    return " ".join(message.split())


def _asked_wait(headers: Any) -> float:
    """Seconds GitHub asked to wait: `Retry-After`, else until `X-RateLimit-Reset`, else a minute
    (GitHub's advice for a secondary limit without either)."""
    headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    after = headers.get("retry-after", "")
    if after.isdigit():
        return float(after)
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return max(1.0, int(reset) - time.time())
    return 60.0


def convert(exc: Exception, operation: str, repo: str) -> Exception:
    where = f"GitHub {operation} on {repo}"
    if isinstance(exc, RateLimitWait):
        return GitHubRateLimited(f"{where}: rate limited; GitHub asks to wait {exc.wait:.0f} s", exc.wait)
    if isinstance(exc, github.GithubException):
        status, said = exc.status, github_message(exc.data)
        detail = f" ({said})" if said else ""
        if status == 401:
            return GitHubAuthError(f"{where} failed: 401{detail}: {_CAUSE[401]}")
        if status == 429 or (status == 403 and isinstance(exc, github.RateLimitExceededException)):
            wait = _asked_wait(exc.headers)
            return GitHubRateLimited(f"{where}: rate limit exceeded{detail}; retry in {wait:.0f} s", wait)
        if status == 403:
            return GitHubForbidden(f"{where} failed: 403{detail}: {_CAUSE[403]}")
        if status == 404:
            return GitHubNotFound(f"{where} failed: 404{detail}: {_CAUSE[404]}")
        if status == 405:
            return GitHubNotMergeable(f"{where} failed: 405{detail}: {_CAUSE[405]}")
        if status in (409, 422):
            return GitHubRejected(f"{where} failed: {status}{detail}", said)
        return GitHubUnavailable(f"{where} failed: {status}{detail} after retries", 5.0)
    if isinstance(exc, requests.exceptions.RetryError):
        return GitHubUnavailable(f"{where} failed: GitHub kept answering with errors after retries", 5.0)
    if isinstance(exc, requests.exceptions.Timeout):
        return GitHubUnavailable(f"{where} timed out", 5.0)
    if isinstance(exc, requests.exceptions.RequestException):
        return GitHubUnavailable(f"{where} failed: cannot reach GitHub ({type(exc).__name__})", 5.0)
    return exc


@contextmanager
def calling(operation: str, repo: str) -> Iterator[None]:
    """Run GitHub calls; anything they raise leaves as a fluxgate error naming `operation` and `repo`."""
    try:
        yield
    except (github.GithubException, requests.exceptions.RequestException, RateLimitWait) as exc:
        raise convert(exc, operation, repo) from exc
