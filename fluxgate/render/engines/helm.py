"""Helm charts, rendered with `helm template`.

The environment's values file is passed with `-f`; the rest of the context arrives as the
`fluxgate` value (`.Values.fluxgate.images.web`, `.Values.fluxgate.version`, ...).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from fluxgate.errors import TemplateError
from fluxgate.render.engines.base import Rendered, TemplateRequest, find_tool, parse_yaml_stream, run_tool

__all__ = ["render_helm"]


def render_helm(request: TemplateRequest) -> Rendered:
    chart = request.entry
    if not (chart / "Chart.yaml").is_file():
        raise TemplateError(f"{request.show(chart)}: no Chart.yaml in the chart folder")
    binary = find_tool("helm", engine="helm")
    ctx = request.context
    release_name = request.templates.release_name or str(ctx["app"])
    with tempfile.TemporaryDirectory(prefix="fluxgate-helm-") as tmp:
        injected = Path(tmp, "fluxgate-values.json")
        injected.write_text(
            json.dumps({"fluxgate": {k: ctx[k] for k in ("app", "version", "env", "images")}}),
            encoding="utf-8",
        )
        argv = [binary, "template", release_name, str(chart)]
        if ctx["env"].get("namespace"):
            argv += ["--namespace", ctx["env"]["namespace"]]
        if request.values_file is not None:
            argv += ["-f", str(request.values_file)]
        argv += ["-f", str(injected)]
        output = run_tool(argv, f"helm template {request.show(chart)}")
    where = request.show(chart)
    return Rendered.from_one_place(parse_yaml_stream(output, where), where)
