"""Drift: files of an environment's folder that changed by hand since fluxgate last wrote them.

Every promotion writes a ledger into the folder, `<folder>/.fluxgate-files`: one line per file,
`<git blob id>  <path relative to the folder>`. The next promotion compares the ledger it finds at its
base commit with that commit's files (the blob ids `git ls-tree` lists), so a file edited, added or
removed by hand since then shows in the PR's summary. The ledger is not YAML, so neither Flux (which
builds `*.yaml` / `*.yml`) nor the change summary reads it as a manifest. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import PurePosixPath

__all__ = ["LEDGER_HEADER", "LEDGER_NAME", "blob_id", "drifted", "ledger", "ledger_path"]

LEDGER_NAME = ".fluxgate-files"
LEDGER_HEADER = (
    "# fluxgate: the files of this folder as fluxgate last wrote them; "
    "a file changed by hand shows as drift in the next pull request"
)
_SHA = re.compile(r"[0-9a-f]{40}")


def blob_id(text: str) -> str:
    """The id git gives `text` (UTF-8) as a blob: what `git hash-object` prints and `git ls-tree` lists."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _prefix(folder: str) -> str:
    folder = folder.strip("/")
    return "" if folder in ("", ".") else folder + "/"


def ledger_path(folder: str) -> str:
    """Where the ledger of `folder` lives in the repository."""
    return _prefix(folder) + LEDGER_NAME


def _under(folder: str, files: Mapping[str, str]) -> dict[str, str]:
    """The entries of `files` inside `folder`, the ledger itself left out."""
    prefix, own = _prefix(folder), ledger_path(folder)
    return {path: value for path, value in files.items() if path.startswith(prefix) and path != own}


def ledger(folder: str, files: Mapping[str, str]) -> tuple[str, str]:
    """The ledger for the files (repo path -> text) fluxgate writes under `folder`: (its path, its text)."""
    prefix = _prefix(folder)
    lines = [LEDGER_HEADER]
    for path, text in sorted(_under(folder, files).items()):
        lines.append(f"{blob_id(text)}  {path[len(prefix) :]}")
    return ledger_path(folder), "\n".join(lines) + "\n"


def _recorded(folder: str, text: str) -> dict[str, str]:
    """repo path -> blob id, from a ledger's text; a line that is not `<sha>  <relative path>` is skipped."""
    prefix, own = _prefix(folder), ledger_path(folder)
    found: dict[str, str] = {}
    for line in text.splitlines():
        sha, _sep, relative = line.partition("  ")
        if line.startswith("#") or not _SHA.fullmatch(sha) or not relative.strip():
            continue
        parts = PurePosixPath(relative).parts
        if relative.startswith("/") or ".." in parts or parts in ((), (".",)):
            continue
        if prefix + relative != own:
            found[prefix + relative] = sha
    return found


def drifted(folder: str, base_files: Mapping[str, str], ledger_text: str | None) -> list[str]:
    """The repo paths under `folder` changed by hand since fluxgate wrote `ledger_text`, each marked how.

    `base_files` is the base commit's `path -> blob id` (the whole repository will do); `ledger_text`
    is the ledger found there, or None when there is none (a folder fluxgate never wrote, or wrote
    before it kept a ledger): then nothing is reported, since nothing says what fluxgate wrote.
    Sorted by path: `dev/deployment-web.yaml (changed)`, `... (added)`, `... (removed)`.
    """
    if ledger_text is None:
        return []
    recorded = _recorded(folder, ledger_text)
    actual = _under(folder, base_files)
    drift = []
    for path in sorted(recorded.keys() | actual.keys()):
        if path not in actual:
            drift.append(f"{path} (removed)")
        elif path not in recorded:
            drift.append(f"{path} (added)")
        elif actual[path] != recorded[path]:
            drift.append(f"{path} (changed)")
    return drift
