"""One exception tree for everything fluxgate reports to a user.

```
FluxgateError                 one-line, user-facing message; never a traceback for user errors
├── PermanentError            retrying will not help: fix the input
│   ├── ConfigError           fluxgate.yaml or a config-source file is wrong (names file:line and field)
│   ├── TemplateError         a template failed to evaluate (names file:line:col)
│   ├── RenderError           rendered output cannot be laid out (collisions, missing namespace, ...)
│   ├── ValidationFailed      schema or policy problems; carries every problem found
│   ├── ToolMissing           an external binary (kustomize, helm, git) is not installed
│   └── CiError               CI cannot detect changes, build or push (names the commit, component
│                             or registry)
└── RetryableError            a transient failure; `retry_after` says when to try again
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
    "PermanentError",
    "RenderError",
    "RetryableError",
    "TemplateError",
    "ToolMissing",
    "ValidationFailed",
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
