"""Deterministic, fast YAML for rendered manifests.

Rendered objects are JSON-shaped data (dicts with string keys, lists, str, int, float, bool, None),
so this emitter needs none of a general YAML library's node graph, anchors or resolvers; that
machinery costs 0.3 ms (libyaml through PyYAML) to 3 ms (ruamel.yaml) per object, which dominated
the whole render. The output is kubectl-style: keys sorted, two-space indent, list items at their
key's indent, multi-line strings as literal blocks, and a string quoted (JSON double-quoted style,
valid YAML) whenever a YAML 1.1 or 1.2 reader could take it for anything but that string.
Round-trip fidelity against PyYAML and ruamel.yaml is property-tested
(tests/unit/test_emitted_yaml_round_trips.py).
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any

__all__ = ["dump", "dump_all"]

# Letter- or slash-first tokens without spaces or YAML indicators stay plain.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@+=,:-]*")
# Digit-first strings stay plain only as Kubernetes quantities ("500m", "256Mi"), which no YAML
# version reads as a number, date or sexagesimal.
_QUANTITY = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi|Ei)")
# Words YAML 1.1 (PyYAML, Go yaml.v2) reads as booleans or null.
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
# Characters a double-quoted scalar must escape beyond what JSON escapes: non-printable in YAML,
# or line breaks in YAML 1.1 (NEL, LS, PS) that a reader would fold.
_NEEDS_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
# What a literal block may hold: printable text, no carriage returns or exotic line breaks.
_BLOCK_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _quoted(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    return _NEEDS_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)


@lru_cache(maxsize=65536)
def _string(text: str) -> str:
    """A one-line scalar for `text`: plain when unambiguous, double-quoted otherwise."""
    if (
        (_PLAIN.fullmatch(text) or _QUANTITY.fullmatch(text))
        and text.lower() not in _RESERVED
        and not text.endswith(":")
    ):
        return text
    return _quoted(text)


def _literal(text: str, indent: str) -> str | None:
    """A literal block (`|` / `|-`) for multi-line text, or None when only quoting is exact."""
    if "\n" not in text or _BLOCK_UNSAFE.search(text) or text[:1] in (" ", "\t", "\n"):
        return None
    body, chomp = (text[:-1], "|") if text.endswith("\n") else (text, "|-")
    if body.endswith("\n"):
        return None  # several trailing newlines: keep them exact by quoting
    lines = body.split("\n")
    if any(line != line.rstrip(" \t") or (line and not line.strip()) for line in lines):
        return None  # trailing blanks do not survive editors; keep them exact by quoting
    return chomp + "".join("\n" + (indent + line if line else "") for line in lines)


def _scalar(value: Any, indent: str) -> str:
    if isinstance(value, str):
        return _literal(value, indent) or _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "." not in text:  # 1e+20 is a string to YAML 1.1; 1.0e+20 is a float to both
            mantissa, _, exponent = text.partition("e")
            text = f"{mantissa}.0e{exponent}" if exponent else f"{mantissa}.0"
        return text
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    raise TypeError(f"cannot emit {type(value).__name__} as YAML")


def _entry(prefix: str, value: Any, base: str, out: list[str]) -> None:
    """`prefix` is `<indent>key:`; nested mappings go at base+2, sequences at base."""
    if isinstance(value, dict) and value:
        out.append(prefix + "\n")
        _mapping(value, base + "  ", out)
    elif isinstance(value, list) and value:
        out.append(prefix + "\n")
        _sequence(value, base, out)
    else:
        out.append(f"{prefix} {_scalar(value, base + '  ')}\n")


def _mapping(value: dict[str, Any], indent: str, out: list[str]) -> None:
    for key in sorted(value):
        _entry(f"{indent}{_string(key)}:", value[key], indent, out)


def _sequence(value: list[Any], indent: str, out: list[str]) -> None:
    inner = indent + "  "
    for item in value:
        if isinstance(item, dict) and item:
            lead = indent + "- "
            for key in sorted(item):
                _entry(f"{lead}{_string(key)}:", item[key], inner, out)
                lead = inner
        elif isinstance(item, list) and item:
            out.append(indent + "-\n")
            _sequence(item, inner, out)
        else:
            out.append(f"{indent}- {_scalar(item, inner)}\n")


def dump(document: Any) -> str:
    """One document as YAML text ending in a newline; the same data always gives the same bytes."""
    out: list[str] = []
    if isinstance(document, dict) and document:
        _mapping(document, "", out)
    elif isinstance(document, list) and document:
        _sequence(document, "", out)
    else:
        out.append(_scalar(document, "  ") + "\n")
    return "".join(out)


def dump_all(documents: list[Any]) -> str:
    """Several documents in one stream, separated by `---`."""
    return "---\n".join(dump(doc) for doc in documents)
