"""The template digest: one `sha256:` for the files a release's manifests are rendered from.

`fluxgate ci` records it with the release, and every stage records it again from the commit it
renders: equal digests mean the same templates, whichever machine or checkout computed them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fluxgate.config import PipelineConfig
from fluxgate.errors import ConfigError

__all__ = ["template_digest"]


def _template_files(config: PipelineConfig) -> dict[str, Path]:
    root = config.root
    files: dict[str, Path] = {}
    for entry in [config.templates.path, *config.templates.library_paths]:
        base = root / entry
        if base.is_file():
            found = [base]
        elif base.is_dir():
            found = [p for p in base.rglob("*") if p.is_file()]
        else:
            raise ConfigError(f"{config.file.name}: template path {entry!r} not found in {root}")
        files.update({p.relative_to(root).as_posix(): p for p in found})
    return files


def template_digest(config: PipelineConfig) -> str:
    """`sha256:<hex>` over the template files (`templates.path` and `library_paths`).

    The same files give the same digest on every machine: files are taken in the order of their
    paths relative to the config's folder, and each contributes its path, size and bytes, so a
    rename or a moved byte changes the digest while checkout locations and file times do not.
    """
    digest = hashlib.sha256()
    for relative, path in sorted(_template_files(config).items()):
        data = path.read_bytes()
        digest.update(f"{relative}\0{len(data)}\0".encode())
        digest.update(data)
    return f"sha256:{digest.hexdigest()}"
