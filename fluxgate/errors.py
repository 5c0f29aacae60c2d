"""One exception tree for everything fluxgate raises on purpose, and whether to try again.

Every error carries a one-line message for the user (`str(err)`); a traceback means a bug. Whether
an operation is worth repeating is decided by type, nowhere else: the connector's worker parks a
delivery at once on a `PermanentError` and backs off on a `RetryableError` (honouring its
`retry_after`); the stage flow's tasks retry only `RetryableError`s (`tasks.policy`).

```
FluxgateError
├── PermanentError                 the same input fails the same way: a person has to change something
│   ├── ConfigError                fluxgate.yaml or a config-source file (names file:line and field)
│   │   └── LocatedError           (config.fields) a model-level problem that knows its field
│   ├── SettingsError              a setting of the process: FLUXGATE_*, PREFECT_API_URL, a kubeconfig,
│   │                              a block, a deployment missing on the Prefect server
│   ├── UsageError                 a command-line argument, or a request that cannot be done as asked
│   │                              (promote a release that never passed the previous environment)
│   ├── TemplateError              a template failed to evaluate (names file:line:col)
│   ├── RenderError                rendered output cannot be laid out (collisions, missing namespace)
│   ├── ValidationFailed           schema or policy problems; carries every problem found
│   ├── ToolMissing                an external binary (kustomize, helm, git) is not installed
│   ├── CiError                    CI cannot detect changes, build or push
│   ├── SecretMissing              (stage.secrets) a check names a secret that is not set
│   ├── GitHubAuthError            (github.errors) 401
│   ├── GitHubForbidden            (github.errors) 403 that is not a rate limit
│   ├── GitHubNotFound             (github.errors) 404
│   ├── GitHubRejected             (github.errors) 409 / 422, with GitHub's own words
│   ├── GitHubNotMergeable         (github.errors) 405 on merge
│   ├── EventRejected              (connector.errors) a delivery that is not a well-formed event: 400
│   │   └── BodyTooLarge           (connector.errors) 413
│   ├── Ignored                    a valid input that asks nothing of us: recorded with why, never retried
│   │   └── NotARelease            (connector.triggers) a code-repo event that releases nothing
│   └── DemoFailed                 (sandbox.demo) the demo's story did not end as told
└── RetryableError                 transient: try again after `retry_after` seconds
    ├── GitHubUnavailable          (github.errors) 5xx, 429, rate limits, timeouts, connection errors
    │   ├── GitHubRateLimited      (github.errors) a rate limit refused it; retry_after is GitHub's ask
    │   └── RateLimitWait          (github.errors) GitHub asks for a longer wait than we block for
    ├── PrefectUnavailable         the Prefect server does not answer
    ├── EngineUnreachable          (stage.container) no Docker engine answers
    ├── KubeReadError              (connector.kube) a cluster's API server could not be asked
    ├── EffectBusy                 (connector.effects) another worker is making the same GitHub change
    └── BudgetWait                 (connector.budget) the GitHub write budget is spent for now
```

Third-party exceptions are converted at the boundary where they arise (`raise ... from exc`), so
callers above the core (CLI, tasks, connector) only ever catch `FluxgateError`.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CiError",
    "ConfigError",
    "FluxgateError",
    "Ignored",
    "PermanentError",
    "PrefectUnavailable",
    "RenderError",
    "RetryableError",
    "SettingsError",
    "TemplateError",
    "ToolMissing",
    "UsageError",
    "ValidationFailed",
    "one_line",
]


class FluxgateError(Exception):
    """Base of every error fluxgate raises on purpose; `str(err)` is the one-line user message."""

    exit_code = 2

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)

    def lines(self) -> list[str]:
        """The lines a CLI prints: one per problem when the error aggregates several."""
        return self.problems or [self.message]

    @classmethod
    def from_problems(cls, problems: Sequence[str]) -> FluxgateError:
        """One error for many problems, so a user fixes them in one round, not one per run."""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return cls(problems[0] + more, problems)


class PermanentError(FluxgateError):
    """The same input will fail the same way: the user has to change something."""


class RetryableError(FluxgateError):
    """A transient failure (network, rate limit): the operation may succeed after `retry_after` s."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(PermanentError):
    """fluxgate.yaml or a config-source file (values, overlays) is invalid."""


class SettingsError(PermanentError):
    """A setting of the running process is missing or wrong (environment, block, kubeconfig, the
    Prefect deployment): fixed where the process is deployed, not in fluxgate.yaml."""


class UsageError(PermanentError):
    """A command-line argument is malformed, or what it asks for cannot be done as asked."""


class Ignored(PermanentError):
    """The input is valid but asks nothing of fluxgate (an event of a kind it does not track, an
    object no environment routes to, a stale report): recorded with why, never retried."""


class PrefectUnavailable(RetryableError):
    """The Prefect server did not answer."""

    def __init__(self, message: str, retry_after: float = 5.0) -> None:
        super().__init__(message, retry_after)


class TemplateError(PermanentError):
    """A template (jsonnet, YAML with placeholders, kustomize, helm) failed to render."""


class RenderError(PermanentError):
    """The rendered objects cannot become a manifest set (path collision, missing namespace, ...)."""


class ToolMissing(PermanentError):
    """An external binary that an engine needs is not on PATH."""


class ValidationFailed(PermanentError):
    """Rendered objects broke the Kubernetes schema or a policy; nothing was written."""


class CiError(PermanentError):
    """CI cannot go on: an unknown commit, no Docker engine, a failed build or a refused push."""


def one_line(value: object, limit: int | None = None) -> str:
    """The first non-empty line of `value` (a text, or an exception's message), cut to `limit`
    characters; an exception without a message is named by its type."""
    text = str(value)
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    if not line and isinstance(value, BaseException):
        line = type(value).__name__
    return line if limit is None or len(line) <= limit else line[: limit - 1] + "…"
