"""Small fluxgate projects written into a test's tmp_path, and a one-call render of them.

`write_project(tmp_path, files={...})` writes a minimal, valid `fluxgate.yaml` (one component
`web`, plain-YAML templates under `manifests/`, one environment `dev` in namespace `demo-dev`
reading `config/dev/`) plus whatever files the test supplies. `config=` deep-updates that
configuration, so each test states only what it is about.
"""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from fluxgate.config import PipelineConfig, load_config
from fluxgate.release import build_release
from fluxgate.render import RenderResult, render_environment

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BASE_CONFIG: dict[str, Any] = {
    "app": "demo",
    "components": {"web": {"path": "src", "image": "ghcr.io/acme/web"}},
    "templates": {"engine": "yaml", "path": "manifests"},
    "manifests": {"repo": "acme/demo-manifests"},
    "kubernetes": {"version": "1.31"},
    "environments": [
        {
            "name": "dev",
            "namespace": "demo-dev",
            "clusters": [{"name": "dev-eu", "kustomizations": ["demo"]}],
            "config": {"path": "config/dev"},
        }
    ],
}


def _update(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def write_project(
    root: Path, files: Mapping[str, str] | None = None, config: Mapping[str, Any] | None = None
) -> Path:
    """Write `fluxgate.yaml` and `files` (relative path -> text, dedented) under `root`."""
    data = _update(copy.deepcopy(BASE_CONFIG), config or {})
    (root / "config" / "dev").mkdir(parents=True, exist_ok=True)
    for relative, text in (files or {}).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    config_file = root / "fluxgate.yaml"
    config_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return config_file


def render(
    project: Path | PipelineConfig,
    env: str = "dev",
    images: Iterable[str] | Mapping[str, str] = ("web=1.0.0",),
    version: str | None = None,
) -> RenderResult:
    """Load the project's config (a folder or a fluxgate.yaml), build a release and render `env`."""
    if isinstance(project, PipelineConfig):
        config = project
    else:
        config = load_config(project / "fluxgate.yaml" if project.is_dir() else project)
    return render_environment(config, env, build_release(config, images, version))


def deployment(
    name: str = "web",
    image: str = "${images.web}",
    replicas: str = "1",
    namespace: str | None = None,
    extra_spec: str = "",
    container_fields: str = "",
) -> str:
    """A valid apps/v1 Deployment as template text; the arguments are inserted verbatim.

    `extra_spec` is appended to `spec:` as written; `container_fields` (YAML, dedented) is added to
    the one container, under its `image:`.
    """
    ns = f"\n  namespace: {namespace}" if namespace else ""
    fields = textwrap.indent(textwrap.dedent(container_fields), " " * 10)
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}{ns}
spec:
  replicas: {replicas}{extra_spec}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: {name}
          image: {image}
{fields}"""
