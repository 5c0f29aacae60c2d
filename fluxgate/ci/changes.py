"""Which components a push changed since the last successful build: git reading only, no building.

The CI flow calls `detect_changes` first, with the commit of main's last successful build as the
base (None for the very first build: then everything is new and every component is built). The
comparison is a tree diff between two commits in the object database, never the working tree, so
uncommitted files do not count; and a base that is no longer an ancestor of the head (main was
force-pushed) still compares correctly, since what differs from what was built is what needs building.

A component changed when a file under one of its `paths`, or its Dockerfile, differs. Paths in
`fluxgate.yaml` are relative to the config's folder, which may sit anywhere inside the repository.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import git
from pydantic import BaseModel, ConfigDict

from fluxgate.config import Component, PipelineConfig
from fluxgate.errors import CiError

__all__ = ["ComponentChange", "ComponentChanges", "detect_changes"]


class ComponentChange(BaseModel):
    """One component's verdict, with the files that caused it (repository-relative, sorted)."""

    model_config = ConfigDict(frozen=True)

    changed: bool
    files: list[str]


class ComponentChanges(BaseModel):
    """Every component's verdict between `base` and `head` (full commit shas)."""

    model_config = ConfigDict(frozen=True)

    base: str | None
    head: str
    components: dict[str, ComponentChange]

    @property
    def first_build(self) -> bool:
        return self.base is None

    @property
    def changed(self) -> list[str]:
        """Names of the changed components, sorted."""
        return sorted(name for name, change in self.components.items() if change.changed)


def _commit(repo: git.Repo, rev: str, role: str) -> git.Commit:
    try:
        return repo.commit(rev)
    except (git.BadName, git.BadObject, ValueError) as exc:
        shallow = Path(repo.git_dir, "shallow").exists()
        hint = "; the clone is shallow: fetch the full history (e.g. fetch-depth: 0)" if shallow else ""
        raise CiError(f"{role} commit {rev!r} is not in the history of {repo.working_dir}{hint}") from exc


def _changed_paths(base: git.Commit | None, head: git.Commit) -> set[str]:
    """Paths that differ between the two commits (both sides of a rename); all of `head` without base."""
    if base is None:
        return {str(item.path) for item in head.tree.traverse() if item.type != "tree"}  # type: ignore[union-attr]
    paths: set[str] = set()
    for diff in base.diff(head):
        paths.update(p for p in (diff.a_path, diff.b_path) if p)
    return paths


def _under(path: str, folder: str) -> bool:
    return folder == "." or path == folder or path.startswith(folder + "/")


def _files_of(component: Component, prefix: PurePosixPath, paths: set[str]) -> list[str]:
    folders = [str(prefix / p) for p in component.paths]
    dockerfile = str(prefix / component.dockerfile_path)
    return sorted(p for p in paths if p == dockerfile or any(_under(p, f) for f in folders))


def _prefix(config: PipelineConfig, repo: git.Repo) -> PurePosixPath:
    """Where the config's folder sits in the repository, so component paths become repository paths."""
    if repo.working_tree_dir is None:
        raise CiError(f"{repo.git_dir} is a bare repository: CI needs a checkout with {config.file.name}")
    try:
        relative = config.root.resolve().relative_to(Path(repo.working_tree_dir).resolve())
    except ValueError as exc:
        raise CiError(f"{config.file} is not inside the git repository {repo.working_tree_dir}") from exc
    return PurePosixPath(relative.as_posix())


def detect_changes(
    config: PipelineConfig,
    head: str = "HEAD",
    base: str | None = None,
    *,
    repo_dir: Path | None = None,
) -> ComponentChanges:
    """Each component's changed flag and files between `base` and `head` of the code repository.

    Args:
        config: the pipeline config; its folder must be inside the repository.
        head: the commit being built (any revision git understands).
        base: the commit of the last successful build, or None for the first build (all changed).
        repo_dir: the repository; default: the one holding the config file.

    Raises:
        CiError: no repository there, or `base` / `head` is not a commit of its history.
    """
    where = repo_dir or config.root
    try:
        repo = git.Repo(where, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise CiError(f"{where} is not in a git repository: CI compares commits to find changes") from exc
    with repo:
        prefix = _prefix(config, repo)
        head_commit = _commit(repo, head, "head")
        base_commit = _commit(repo, base, "base") if base is not None else None
        paths = _changed_paths(base_commit, head_commit)
    components = {}
    for name, component in config.components.items():
        files = _files_of(component, prefix, paths)
        components[name] = ComponentChange(changed=base_commit is None or bool(files), files=files)
    return ComponentChanges(
        base=base_commit.hexsha if base_commit is not None else None,
        head=head_commit.hexsha,
        components=components,
    )
