"""What is deployed now: an environment's folder read from a directory or from a git ref.

Reading a git ref goes through GitPython (the object database, not a checkout), so comparing
against `origin/main` never touches the working tree.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import git
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from fluxgate.errors import PermanentError, UsageError

__all__ = ["CurrentState", "read_current", "read_directory", "read_git_ref", "read_text_at"]

CurrentState = dict[str, dict[str, Any]]  # repo path -> object
_SUFFIXES = (".yaml", ".yml", ".json")  # manifests only: fluxgate's ledger (.fluxgate-files) is none


def _parse(text: str, path: str, into: CurrentState) -> None:
    try:
        docs = [d for d in YAML(typ="safe").load_all(text) if d is not None]
    except YAMLError as exc:
        raise PermanentError(f"{path}: invalid YAML: {str(exc).splitlines()[0]}") from exc
    for index, doc in enumerate(docs):
        if isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc:
            into[path if len(docs) == 1 else f"{path}#{index}"] = doc


def read_directory(root: Path, folder: str) -> CurrentState:
    """Objects under `root/folder`; a missing folder is an environment never deployed."""
    state: CurrentState = {}
    base = root / folder
    if not base.is_dir():
        return state
    for path in sorted(base.rglob("*")):
        if path.suffix in _SUFFIXES and path.is_file():
            relative = str(PurePosixPath(folder, path.relative_to(base).as_posix()))
            _parse(path.read_text(encoding="utf-8"), relative, state)
    return state


def read_git_ref(repo_dir: Path, ref: str, folder: str) -> CurrentState:
    """Objects under `folder` at `ref` of the repository at `repo_dir`."""
    try:
        repo = git.Repo(repo_dir, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise UsageError(
            f"--against {ref}: not a directory, and {repo_dir} is not a git repository"
        ) from exc
    try:
        tree = repo.commit(ref).tree
    except (git.BadName, ValueError) as exc:
        raise UsageError(f"--against {ref}: no such commit, branch or tag in {repo.working_dir}") from exc
    state: CurrentState = {}
    try:
        sub = tree / folder if folder not in ("", ".") else tree
    except KeyError:
        return state
    for item in sorted(sub.traverse(), key=lambda i: i.path):
        if item.type == "blob" and item.path.endswith(_SUFFIXES):
            _parse(item.data_stream.read().decode("utf-8"), item.path, state)
    return state


def read_text_at(repo_dir: Path, ref: str, path: str) -> str | None:
    """The text of the file `path` at `ref` of the repository at `repo_dir`; None when it has none.

    Bytes that are not UTF-8 (a file edited by hand) are replaced, never an error.
    """
    with git.Repo(repo_dir) as repo:
        try:
            item = repo.commit(ref).tree / path
        except KeyError:
            return None
        if item.type != "blob":
            return None
        data: bytes = item.data_stream.read()
    return data.decode("utf-8", errors="replace")


def read_current(against: str, folder: str, repo_dir: Path) -> CurrentState:
    """`against` is a manifests-repo checkout (a directory) or a git ref in `repo_dir`."""
    as_dir = Path(against)
    if as_dir.is_dir():
        return read_directory(as_dir, folder)
    return read_git_ref(repo_dir, against, folder)
