"""Writing rendered files to a folder, all or nothing.

Files are staged in a hidden folder inside the destination (same filesystem), and only then does
each owned folder swap in with a rename, so a failure leaves the destination as it was and a
success leaves no stale file of an earlier render behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from fluxgate.errors import PermanentError

__all__ = ["write_tree"]


def _inside(root: Path, relative: str) -> Path:
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or pure.parts == (".",):
        raise PermanentError(f"refusing to write {relative!r}: not a path inside the output folder")
    return root.joinpath(*pure.parts)


def write_tree(out: Path, files: Mapping[str, str], folders: Iterable[str]) -> None:
    """Write `files` (relative path -> text) under `out`, replacing each of `folders` whole."""
    owned = sorted(set(folders))
    for folder in owned:
        _inside(out, folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".fluxgate-", dir=out))
    except OSError as exc:
        raise PermanentError(f"{out}: cannot write: {exc.strerror}") from exc
    try:
        for relative, text in files.items():
            target = _inside(stage, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        for index, folder in enumerate(owned):
            new, target = _inside(stage, folder), _inside(out, folder)
            new.mkdir(parents=True, exist_ok=True)
            if target.exists():
                os.replace(target, stage / f".old-{index}")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(new, target)
    except OSError as exc:
        raise PermanentError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
