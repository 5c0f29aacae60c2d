"""Kustomize bases, built with `kustomize build` or `kubectl kustomize`.

Image tags go in through kustomize's own image transformer: a throw-away kustomization wraps the
base with an `images:` entry per component, so the base never needs editing.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from fluxgate.errors import TemplateError
from fluxgate.release import ImageRef
from fluxgate.render.engines.base import Rendered, TemplateRequest, find_tool, parse_yaml_stream, run_tool

__all__ = ["render_kustomize"]


def _image_entries(request: TemplateRequest) -> list[dict[str, str]]:
    """Templates name images by the repository in fluxgate.yaml; the release may move them."""
    entries = []
    for component, ref_text in sorted(request.context["images"].items()):
        ref = ImageRef.parse(ref_text)
        name = request.image_repositories.get(component, ref.repository)
        entry = {"name": name, "newName": ref.repository}
        if ref.tag:
            entry["newTag"] = ref.tag
        if ref.digest:
            entry["digest"] = ref.digest
        entries.append(entry)
    return entries


def render_kustomize(request: TemplateRequest) -> Rendered:
    base = request.entry
    if not (base / "kustomization.yaml").is_file() and not (base / "kustomization.yml").is_file():
        raise TemplateError(f"{request.show(base)}: no kustomization.yaml in the template folder")
    binary = find_tool("kustomize", "kubectl", engine="kustomize")
    with tempfile.TemporaryDirectory(prefix="fluxgate-kustomize-") as tmp:
        wrapper = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [os.path.relpath(base.resolve(), tmp)],
            "images": _image_entries(request),
        }
        Path(tmp, "kustomization.yaml").write_text(json.dumps(wrapper), encoding="utf-8")
        is_kustomize = Path(binary).name.startswith("kustomize")
        argv = [binary, "build", tmp] if is_kustomize else [binary, "kustomize", tmp]
        output = run_tool(argv, f"kustomize build {request.show(base)}")
    where = request.show(base)
    return Rendered.from_one_place(parse_yaml_stream(output, where), where)
