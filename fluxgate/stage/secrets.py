"""Secret references (`${secret:NAME}`) in check headers, bodies and container env, resolved only
when a check runs.

The resolver is pluggable: the core reads `FLUXGATE_SECRET_<NAME>` from the environment
(`env_secrets`); the Prefect layer passes one backed by Secret blocks. A value never leaves the
request it is put in: `redact` takes every resolved value out of text a user will see.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fluxgate.config import SECRET_REF
from fluxgate.errors import PermanentError

__all__ = ["SecretMissing", "SecretResolver", "Secrets", "env_secrets", "redact"]

SecretResolver = Callable[[str], str]
"""NAME -> value; raises `SecretMissing` with a one-line message saying where it looked."""

ENV_PREFIX = "FLUXGATE_SECRET_"


class SecretMissing(PermanentError):
    """A check refers to a secret its resolver does not have."""


def env_secrets(environ: Mapping[str, str] | None = None) -> SecretResolver:
    """Secrets from environment variables: `${secret:STAGING_TOKEN}` is `FLUXGATE_SECRET_STAGING_TOKEN`."""
    source = os.environ if environ is None else environ

    def resolve(name: str) -> str:
        value = source.get(ENV_PREFIX + name)
        if not value:
            raise SecretMissing(f"secret {name} is not set (environment variable {ENV_PREFIX}{name})")
        return value

    return resolve


class Secrets:
    """The values one check resolved, so everything it reports can be redacted."""

    def __init__(self, resolver: SecretResolver) -> None:
        self._resolver = resolver
        self.values: set[str] = set()

    def fill(self, value: Any) -> Any:
        """`value` with every `${secret:NAME}` replaced, walking the strings of JSON bodies too."""
        if isinstance(value, str):
            return SECRET_REF.sub(lambda match: self._resolve(match.group(1)), value)
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        return value

    def _resolve(self, name: str) -> str:
        value = self._resolver(name)
        self.values.add(value)
        return value

    def redact(self, text: str) -> str:
        return redact(text, self.values)


def redact(text: str, values: Iterable[str]) -> str:
    """`text` with each secret value replaced by `***` (longest first, so none shows in part)."""
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, "***")
    return text
