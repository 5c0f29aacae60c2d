"""Writing rendered files to a folder, all or nothing.

Files are staged in a hidden folder inside the destination (same filesystem). Only when every file
is written do the owned folders swap in, each with a rename; if a swap fails, the swaps already
done are undone, so the destination ends either fully updated or exactly as it was, and a success
leaves no stale file of an earlier render behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from fluxgate.errors import PermanentError

__all__ = ["write_tree"]


def _relative(relative: str) -> PurePosixPath:
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or pure.parts == (".",):
        raise PermanentError(f"refusing to write {relative!r}: not a path inside the output folder")
    return pure


def _outermost(folders: Iterable[str]) -> list[PurePosixPath]:
    """Owned folders without those nested in another (the outer swap carries them)."""
    paths = sorted({_relative(f) for f in folders}, key=lambda p: len(p.parts))
    kept: list[PurePosixPath] = []
    for path in paths:
        if not any(path.is_relative_to(outer) for outer in kept):
            kept.append(path)
    return sorted(kept)


def _swap(out: Path, stage: Path, owned: list[PurePosixPath]) -> None:
    """Move each staged folder into place; on failure put every earlier folder back."""
    done: list[tuple[Path, Path, Path | None]] = []  # (target, staged new, moved-away old)
    try:
        for target_rel in owned:
            target = out.joinpath(*target_rel.parts)
            if target.parent.exists() and not target.parent.is_dir():
                raise NotADirectoryError(0, "a file is in the way", str(target.parent))
            target.parent.mkdir(parents=True, exist_ok=True)
        for index, target_rel in enumerate(owned):
            target, new = out.joinpath(*target_rel.parts), stage.joinpath(*target_rel.parts)
            new.mkdir(parents=True, exist_ok=True)
            old: Path | None = None
            if target.exists() or target.is_symlink():
                old = stage / f".old-{index}"
                os.replace(target, old)
            done.append((target, new, old))
            os.replace(new, target)
    except OSError:
        for target, new, old in reversed(done):
            if target.exists() and not new.exists():
                os.replace(target, new)
            if old is not None:
                os.replace(old, target)
        raise


def write_tree(out: Path, files: Mapping[str, str], folders: Iterable[str]) -> None:
    """Write `files` (relative path -> text) under `out`, replacing each of `folders` whole.

    Every file must lie inside one of `folders`: that is what makes stale files impossible.
    """
    owned = _outermost(folders)
    for relative in files:
        path = _relative(relative)
        if not any(path.is_relative_to(folder) for folder in owned):
            raise PermanentError(f"refusing to write {relative!r}: it is outside the folders being replaced")
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".fluxgate-", dir=out))
    except OSError as exc:
        raise PermanentError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    try:
        for relative, text in files.items():
            target = stage.joinpath(*_relative(relative).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        _swap(out, stage, owned)
    except OSError as exc:
        where = exc.filename or out
        raise PermanentError(f"{where}: cannot write: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
