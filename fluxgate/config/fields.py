"""Building blocks of the config models: durations, name patterns, the strict base model, and the
error that lets a model-level problem name its line. Used by `model` and `checks`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from fluxgate.errors import ConfigError

__all__ = [
    "DNS_LABEL",
    "REPO_SLUG",
    "Duration",
    "LocatedError",
    "StrictModel",
    "format_duration",
    "parse_duration",
]

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
REPO_SLUG = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class LocatedError(ConfigError, ValueError):
    """A model-level problem that knows which field it is about, so errors still name a line.

    A `ValueError` too: pydantic turns what a validator raises into a located validation error.

    `loc` is from the top of the file, or, with `relative=True`, from where the validator that
    raised it runs (a list item that does not know its own index).
    """

    def __init__(self, message: str, loc: tuple[str | int, ...], *, relative: bool = False) -> None:
        super().__init__(message)
        self.loc = loc
        self.relative = relative


def parse_duration(value: Any) -> timedelta:
    """Flux-style durations ("90s", "10m", "1h30m") or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 10m or 1h30m")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match and any(match.groups()):
            hours, minutes, seconds = (int(g or 0) for g in match.groups())
            return timedelta(hours=hours, minutes=minutes, seconds=seconds)
    raise ValueError(f"{value!r} is not a duration such as 90s, 10m or 1h30m")


def format_duration(value: timedelta) -> str:
    """The inverse of `parse_duration`: 300 s -> "5m", 5400 s -> "1h30m", 0.5 s -> "0.5s"."""
    seconds = value.total_seconds()
    if seconds != int(seconds) or seconds == 0:
        return f"{seconds:g}s"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo never passes silently), and a loaded config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
