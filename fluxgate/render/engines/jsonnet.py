"""Jsonnet templates: the context arrives as external variables (and optionally TLAs).

External variables: `app`, `version` (strings), `env`, `images`, `values` (objects) and
`fluxgate` (the whole context). `templates.tlas` names those also passed as top-level arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _jsonnet

from fluxgate.errors import TemplateError
from fluxgate.objects import collect_objects
from fluxgate.render.engines.base import Rendered, TemplateRequest

__all__ = ["evaluate", "jsonnet_arguments", "render_jsonnet"]

_LOCATION = re.compile(r"(?P<file>[^\s:()]+):\(?(?P<line>\d+):(?P<col>\d+)")


def jsonnet_arguments(request: TemplateRequest) -> dict[str, Any]:
    """The keyword arguments of `_jsonnet.evaluate_file` for a request (shared with the bench)."""
    ctx = request.context
    codes = {key: json.dumps(ctx[key], sort_keys=True) for key in ("env", "images", "values")}
    return {
        "jpathdir": [str(request.root / p) for p in request.templates.library_paths],
        "ext_vars": {"app": str(ctx["app"]), "version": str(ctx["version"])},
        "ext_codes": {**codes, "fluxgate": json.dumps(ctx, sort_keys=True)},
        "tla_codes": {key: json.dumps(ctx[key], sort_keys=True) for key in request.templates.tlas},
    }


def _one_line(message: str, request: TemplateRequest) -> str:
    """`RUNTIME ERROR: x\\n\\tfile:4:6-18 ...` -> `file:4:6: RUNTIME ERROR: x` (user's file first)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    head = lines[0] if lines else "jsonnet evaluation failed"
    if head.startswith("Opening input file:"):
        return f"{request.show(request.entry)}: file not found"
    kind, _, rest = head.partition(": ")
    candidates = [rest, *lines[1:]] if kind == "STATIC ERROR" else lines[1:]
    for text in candidates:
        match = _LOCATION.search(text)
        if match and "std.jsonnet" not in match["file"] and not match["file"].startswith("<"):
            where = request.show(Path(match["file"]))
            reason = rest[match.end() :].lstrip(": ") if text is rest else rest
            return f"{where}:{match['line']}:{match['col']}: {kind}: {reason or rest}"
    return f"{request.show(request.entry)}: {head}"


def _importer(request: TemplateRequest) -> Callable[[str, str], tuple[str, bytes]]:
    """Jsonnet's import lookup (beside the importing file, then the library paths), confined to the
    repository: `importstr '/proc/self/environ'` would otherwise copy the worker's secrets into a PR."""
    inside = request.inside
    library = [request.root / p for p in request.templates.library_paths]

    def load(base: str, rel: str) -> tuple[str, bytes]:
        if Path(rel).is_absolute():
            raise RuntimeError(f"{rel} is outside the repository: templates read only its files")
        for folder in [Path(base) if base else request.entry.parent, *library]:
            candidate = folder / rel
            real = candidate.resolve()
            if real.is_file():
                if not real.is_relative_to(inside):
                    raise RuntimeError(f"{rel} is outside the repository: templates read only its files")
                return str(candidate), real.read_bytes()
        raise RuntimeError("file not found")

    return load


def evaluate(request: TemplateRequest) -> Any:
    """The entry file evaluated to JSON data."""
    try:
        output = _jsonnet.evaluate_file(
            str(request.entry), import_callback=_importer(request), **jsonnet_arguments(request)
        )
    except RuntimeError as exc:
        raise TemplateError(_one_line(str(exc), request)) from exc
    return json.loads(output)


def render_jsonnet(request: TemplateRequest) -> Rendered:
    # Jsonnet's output carries no source positions, and finding an object's line by searching the
    # source would guess wrong (objects are built by functions, imports, comprehensions): every
    # object is traced back to the entry file only.
    where = request.show(request.entry)
    return Rendered.from_one_place(collect_objects(evaluate(request), where), where)
