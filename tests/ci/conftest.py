"""A real code repository in tmp_path: three components, a shared file, templates and a history."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import git
import pytest

from fluxgate.config import PipelineConfig, load_config

CONFIG = """\
app: shop
components:
  web:
    path: services/web
    image: ghcr.io/acme/web
  api:
    path: [services/api, libs/common]
    image: ghcr.io/acme/api
  worker:
    path: services/worker
    image: ghcr.io/acme/worker
    dockerfile: docker/worker.Dockerfile
templates:
  engine: yaml
  path: deploy
  library_paths: [lib]
manifests:
  repo: acme/shop-manifests
environments:
  - name: dev
    namespace: shop-dev
    clusters:
      - name: dev-eu
        kustomizations: [shop]
"""

TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${app}-images
data:
  version: ${version}
  web: ${images.web}
  api: ${images.api}
  worker: ${images.worker}
"""

FILES = {
    "fluxgate.yaml": CONFIG,
    "README.md": "# shop\n",
    "shared/notes.txt": "in no component\n",
    "services/web/Dockerfile": "FROM scratch\nCOPY app.py /app.py\n",
    "services/web/app.py": "print('web')\n",
    "services/api/Dockerfile": "FROM scratch\nCOPY main.py /main.py\n",
    "services/api/main.py": "print('api')\n",
    "libs/common/util.py": "VALUE = 1\n",
    "services/worker/job.py": "print('worker')\n",
    "docker/worker.Dockerfile": "FROM scratch\nCOPY job.py /job.py\n",
    "deploy/images.yaml": TEMPLATE,
    "lib/labels.libsonnet": "{ team: 'shop' }\n",
}

_AUTHOR = git.Actor("ci", "ci@example.com")


@dataclass
class CodeRepo:
    """A git repository whose `prefix` folder holds fluxgate.yaml; commits return their full sha."""

    path: Path
    prefix: str = ""

    @property
    def root(self) -> Path:
        return self.path / self.prefix if self.prefix else self.path

    @property
    def config(self) -> PipelineConfig:
        return load_config(self.root / "fluxgate.yaml")

    def commit(self, files: Mapping[str, str | None], message: str = "change") -> str:
        """Write (or, for None, delete) files relative to the config folder, and commit them."""
        with git.Repo(self.path) as repo:
            for name, text in files.items():
                target = Path(os.path.normpath(self.root / name))
                relative = str(target.relative_to(self.path))
                if text is None:
                    repo.index.remove([relative], working_tree=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text, encoding="utf-8")
                    repo.index.add([relative])
            return repo.index.commit(message, author=_AUTHOR, committer=_AUTHOR).hexsha

    def rename(self, old: str, new: str) -> str:
        with git.Repo(self.path) as repo:
            (self.root / new).parent.mkdir(parents=True, exist_ok=True)
            repo.index.move([str(self.root / old), str(self.root / new)])
            return repo.index.commit(f"move {old}", author=_AUTHOR, committer=_AUTHOR).hexsha


def make_repo(path: Path, prefix: str = "") -> tuple[CodeRepo, str]:
    """A new repository with every file of FILES in its first commit (returned with it)."""
    path.mkdir(parents=True, exist_ok=True)
    git.Repo.init(path, initial_branch="main").close()
    code = CodeRepo(path, prefix)
    return code, code.commit(FILES, "first")


@pytest.fixture
def code_repo(tmp_path: Path) -> CodeRepo:
    return make_repo(tmp_path / "code")[0]


@pytest.fixture
def first(code_repo: CodeRepo) -> str:
    """The sha of the repository's first commit."""
    with git.Repo(code_repo.path) as repo:
        return repo.head.commit.hexsha
