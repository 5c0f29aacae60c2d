"""What a promotion changes in the manifests repo, planned without calling GitHub.

The plan compares blob ids, not bytes: git names a file by the SHA-1 of its content, so the
existing side is a `path -> blob sha` listing (one `git ls-tree`) and the desired side is hashed
locally. Only files under the folders the environment owns are touched; anything else in the
repo (other environments, a README) is left exactly as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from pydantic import BaseModel

__all__ = ["FileChanges", "blob_sha", "plan_changes"]


def blob_sha(data: bytes) -> str:
    """The id git gives `data` as a blob (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FileChanges(BaseModel):
    """Files to write (added or changed) and paths to delete, relative to the repo root."""

    added: dict[str, bytes] = {}
    changed: dict[str, bytes] = {}
    deleted: list[str] = []

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.deleted)

    @property
    def upserts(self) -> dict[str, bytes]:
        return {**self.added, **self.changed}

    def describe(self) -> str:
        return f"{len(self.added)} added, {len(self.changed)} changed, {len(self.deleted)} deleted"


def _owned(path: str, folders: Sequence[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def plan_changes(
    existing: Mapping[str, str], desired: Mapping[str, bytes], folders: Sequence[str]
) -> FileChanges:
    """The changes that make `folders` hold exactly `desired`.

    `existing` maps every file of the base commit to its blob sha; `desired` maps paths to bytes
    and must lie inside `folders` (the render stage guarantees it; this re-checks, because a stray
    path here would overwrite another environment).
    """
    stray = sorted(p for p in desired if not _owned(p, folders))
    if stray:
        raise ValueError(f"{stray[0]} is outside the folders this promotion owns: {', '.join(folders)}")
    added = {p: data for p, data in desired.items() if p not in existing}
    changed = {p: data for p, data in desired.items() if p in existing and existing[p] != blob_sha(data)}
    deleted = sorted(p for p in existing if _owned(p, folders) and p not in desired)
    return FileChanges(
        added=dict(sorted(added.items())), changed=dict(sorted(changed.items())), deleted=deleted
    )
