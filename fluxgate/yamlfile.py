"""Reading user-written YAML with positions, so every error can name `file:line`.

Used by the config loader, the config-source reader (values, overlays) and the plain-YAML template
engine. Writing rendered manifests is a different job with different needs (speed, determinism):
see `fluxgate.render.emit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from fluxgate.errors import FluxgateError

__all__ = ["display_path", "line_of", "load_documents", "load_mapping", "to_plain"]


def display_path(path: Path, root: Path | None = None) -> str:
    """A path as the user knows it: relative to `root` (or the working directory) when inside it."""
    for base in (root, Path.cwd()):
        if base is None:
            continue
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def _parse_all(text: str, where: str, error: type[FluxgateError]) -> list[Any]:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True  # a quoted scalar is text, even when it looks like a number
    try:
        return [doc for doc in yaml.load_all(text) if doc is not None]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise error(f"{where}{line}: invalid YAML: {problem}") from exc
    except YAMLError as exc:
        raise error(f"{where}: invalid YAML: {str(exc).splitlines()[0]}") from exc


def load_documents(path: Path, error: type[FluxgateError], root: Path | None = None) -> list[Any]:
    """Every non-empty document of a YAML file, as ruamel round-trip nodes (they carry lines)."""
    where = display_path(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(f"{where}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{where}: cannot read: {exc}") from exc
    return _parse_all(text, where, error)


def load_mapping(
    path: Path, error: type[FluxgateError], root: Path | None = None, empty_ok: bool = False
) -> CommentedMap:
    """A YAML file that must hold exactly one mapping (config files; values files may be empty)."""
    docs = load_documents(path, error, root)
    where = display_path(path, root)
    if not docs and empty_ok:
        return CommentedMap()
    if not docs:
        raise error(f"{where}: the file is empty; expected a mapping")
    if len(docs) > 1:
        raise error(f"{where}: expected one YAML document, found {len(docs)}")
    if not isinstance(docs[0], CommentedMap):
        raise error(f"{where}:1: expected a mapping at the top level")
    return docs[0]


def line_of(node: Any, loc: Iterable[Any]) -> int | None:
    """The 1-based line of the deepest part of `loc` found in a round-trip node tree.

    Pydantic reports error locations as key paths; walking them through ruamel's position data
    turns `('environments', 1, 'clusters')` into the line the user has to look at.
    """
    line: int | None = None
    if isinstance(node, (CommentedMap, CommentedSeq)):
        line = node.lc.line + 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def to_plain(node: Any) -> Any:
    """Round-trip nodes to plain dicts, lists and scalars (what the rest of fluxgate handles)."""
    if isinstance(node, Mapping):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return str(node)
