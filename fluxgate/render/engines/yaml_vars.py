"""Plain YAML templates with `${...}` placeholders: dotted paths into the template context.

`replicas: ${values.replicas}` keeps the value's type (an integer stays an integer); a quoted
`"${values.port}"`, a placeholder inside a longer string and one in a mapping key are filled as
text, as with Flux's own post-build substitution. `$${x}` writes a literal `${x}`. An unknown
variable, or a `${` without its closing `}`, is an error naming file:line, never passed through.

Each object's origin is `file:line`, the line its mapping starts on (a document's first key).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from fluxgate.errors import TemplateError
from fluxgate.objects import Location, locate_objects
from fluxgate.render.engines.base import Rendered, TemplateRequest
from fluxgate.yamlfile import load_documents, to_plain

__all__ = ["lookup", "render_yaml"]

_PLACEHOLDER = re.compile(r"\$(\$?)\{([^{}]*)\}")
# The same openings, closed or not: where one has no `}` (group 3), the template has a typo.
_OPENED = re.compile(r"\$(\$?)\{([^{}]*)(\}?)")
_SHOWN = 60  # characters of an unclosed placeholder quoted in the error
_MISSING = object()


def lookup(context: dict[str, Any], name: str) -> Any:
    """`values.ingress.host` -> context["values"]["ingress"]["host"], or _MISSING."""
    node: Any = context
    for part in name.strip().split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class _Substituter:
    def __init__(self, context: dict[str, Any], where: str) -> None:
        self.context = context
        self.where = where

    def fail(self, line: int, message: str) -> TemplateError:
        return TemplateError(f"{self.where}:{line}: {message}")

    def value(self, text: str, line: int) -> Any:
        whole = _PLACEHOLDER.fullmatch(text)
        quoted = isinstance(text, (DoubleQuotedScalarString, SingleQuotedScalarString))
        if whole and not whole[1] and not quoted:
            return self.resolve(whole[2], line, whole=True)
        return self.text(text, line)

    def text(self, text: str, line: int) -> str:
        self.check_closed(text, line)
        return _PLACEHOLDER.sub(lambda m: self.replace(m, line), text)

    def check_closed(self, text: str, line: int) -> None:
        """`${env.name` (or `${a ${b}`) would reach the cluster as written: refuse it."""
        for match in _OPENED.finditer(text):
            if match[3]:
                continue
            at_brace = match.end() < len(text)
            shown = match[0].rstrip("$") if at_brace else match[0]  # `${a ${b}`: not `${a $`
            shown = shown if len(shown) <= _SHOWN else shown[: _SHOWN - 1] + "…"
            until = 'the next "{"' if at_brace else "the end of the value"
            raise self.fail(line, f'unclosed placeholder "{shown}": no "}}" before {until}')

    def replace(self, match: re.Match[str], line: int) -> str:
        if match[1]:
            return "${" + match[2] + "}"
        found = self.resolve(match[2], line, whole=False)
        if isinstance(found, (dict, list)) or found is None:
            raise self.fail(line, f"${{{match[2]}}} is not a scalar; it can only fill a whole value")
        return _as_text(found)

    def rename_keys(self, node: CommentedMap) -> None:
        """Fill placeholders in keys (as text), keeping the order of the mapping."""
        if not any(isinstance(k, str) and "${" in k for k in node):
            return
        items = []
        for key in list(node):
            new_key = self.text(key, node.lc.key(key)[0] + 1) if isinstance(key, str) else key
            if new_key != key and new_key in node:
                raise self.fail(node.lc.key(key)[0] + 1, f"key {key!r} becomes {new_key!r}, which exists")
            items.append((new_key, node[key]))
        node.clear()
        for key, value in items:
            node[key] = value

    def resolve(self, name: str, line: int, whole: bool) -> Any:
        found = lookup(self.context, name)
        if found is _MISSING:
            top = ", ".join(sorted(self.context))
            raise self.fail(line, f"unknown variable ${{{name}}} (the context has: {top})")
        return found

    def walk(self, node: Any) -> Any:
        if isinstance(node, CommentedMap):
            for key in list(node):
                child = node[key]
                if isinstance(child, str):
                    node[key] = self.value(child, node.lc.value(key)[0] + 1)
                else:
                    self.walk(child)
            self.rename_keys(node)
        elif isinstance(node, CommentedSeq):
            for index, child in enumerate(node):
                if isinstance(child, str):
                    node[index] = self.value(child, node.lc.item(index)[0] + 1)
                else:
                    self.walk(child)
        return node


def _template_files(entry: Path, request: TemplateRequest) -> list[Path]:
    if entry.is_dir():
        files = sorted(p for p in entry.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise TemplateError(f"{request.show(entry)}: no .yaml files in the template folder")
        return files
    if not entry.exists():
        raise TemplateError(f"{request.show(entry)}: file not found")
    return [entry]


def _start_line(doc: Any, loc: Location) -> int | None:
    """The 1-based line the object at `loc` starts on; for an object a placeholder inserted (it has
    no position of its own), the line of the key or list item that holds the placeholder."""
    node = doc
    line = node.lc.line + 1 if isinstance(node, (CommentedMap, CommentedSeq)) else None
    for part in loc:
        try:
            if isinstance(node, CommentedSeq) and isinstance(part, int):
                line = node.lc.item(part)[0] + 1
            elif isinstance(node, CommentedMap):
                line = node.lc.key(part)[0] + 1
        except (KeyError, IndexError, TypeError):
            pass  # a key a placeholder renamed has no recorded position: keep the enclosing line
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break  # keys became text in the plain copy (`1:` -> "1"): the enclosing line it is
        if isinstance(node, (CommentedMap, CommentedSeq)):
            line = node.lc.line + 1
    return line


def render_yaml(request: TemplateRequest) -> Rendered:
    objects: list[dict[str, Any]] = []
    origins: list[str] = []
    for path in _template_files(request.entry, request):
        where = request.show(path)
        substituter = _Substituter(request.context, where)
        for doc in load_documents(path, TemplateError, request.root):
            if isinstance(doc, str):
                doc = substituter.value(doc, 1)
            filled = substituter.walk(doc)
            for loc, obj in locate_objects(to_plain(filled), where):
                line = _start_line(filled, loc)
                objects.append(obj)
                origins.append(where if line is None else f"{where}:{line}")
    return Rendered(objects, origins)
