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

__all__ = ["BodyTooLarge", "EventRejected", "json_object", "rejected_from", "storable"]

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
_ESCAPE = b"\\u"  # only a JSON escape can put a NUL or a lone surrogate into a parsed string


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
        data: object = dict(body)
        escaped = True
    else:
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventRejected(f"body: not UTF-8 (byte {exc.start})") from None
        try:
            data = json.loads(text)
        except RecursionError:
            raise EventRejected("body: JSON nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError says where; over-long integers are ValueErrors too
            where = (
                f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            )
            raise EventRejected(f"body: not JSON{where}") from None
        escaped = _ESCAPE in body
    if not isinstance(data, dict):
        raise EventRejected(f"body: expected a JSON object, got {_json_kind(data)}")
    if escaped:
        storable(data)
    return data


def storable(data: object) -> None:
    """EventRejected naming the first string no store can hold: a NUL (PostgreSQL text refuses it)
    or a lone surrogate (not Unicode that UTF-8 can encode). Refused at intake, on every backend,
    so such a delivery is a 400 to its sender instead of a poison message in the inbox."""
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            _check_text(path or "body", value)
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                _check_text(f"{child} (the key)", str(key))
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


def _check_text(path: str, text: str) -> None:
    if "\x00" in text:
        raise EventRejected(f"{_printable(path)}: contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise EventRejected(f"{_printable(path)}: not valid Unicode (a lone surrogate)") from None


def _printable(path: str) -> str:
    """A path that may itself hold the bad text, as one printable line to log and to answer with."""
    cleaned = "".join(c if c.isprintable() else repr(c)[1:-1] for c in path)
    return cleaned if len(cleaned) <= 200 else cleaned[:199] + "…"


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
