"""How the connector refuses a delivery: one `EventRejected` with a line that names the field at fault.

The Flux and GitHub parsers (`flux_events`, `github_events`) call `json_object` on the raw body and
`rejected_from` on a pydantic `ValidationError`, so the receiving endpoint has a single exception to turn
into a 400 answer, and an operator reading the log sees `involvedObject.kind: missing`, not a traceback.

```
PermanentError
└── EventRejected      the body is not the event it claims to be: answer 400, never retry it
    └── BodyTooLarge   the body is larger than the connector takes: answer 413
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from fluxgate.errors import PermanentError

__all__ = ["BodyTooLarge", "EventRejected", "json_object", "rejected_from"]

_PROBLEMS = {
    "missing": "missing",
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "bool_type": "expected a boolean",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "list_type": "expected a list",
    "float_type": "expected a number",
    "string_too_short": "empty",  # only min_length=1 is used
}


class EventRejected(PermanentError):
    """A delivery that is not a well-formed event; `str(err)` is `<json path>: <problem>`."""


class BodyTooLarge(EventRejected):
    """A body over the connector's limit; read no further than the limit."""


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def rejected_from(exc: ValidationError, prefix: str = "") -> EventRejected:
    """The first problem pydantic found as the message (`problems` holds every one, `<path>: <problem>`)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(error["loc"])
        path = _path(loc)
        if prefix:
            path = f"{prefix}.{path}" if loc else prefix
        problem = _PROBLEMS.get(error["type"]) or str(error["msg"]).lower()
        problems.append(f"{path}: {problem}")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return EventRejected(problems[0] + more, problems)


def json_object(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """The body as a JSON object (a dict), or EventRejected saying why it is not one."""
    if isinstance(body, Mapping):
        return dict(body)
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise EventRejected("body: not UTF-8") from None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; so are over-long integers
        raise EventRejected("body: not JSON") from None
    if not isinstance(data, dict):
        raise EventRejected(f"body: expected a JSON object, got {_json_kind(data)}")
    return data


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"
