"""Template engines: each turns templates + a template context into Kubernetes objects.

Every engine gets the same context (see `fluxgate.render.context`) and returns plain dicts; what
happens after (namespaces, overlays, layout, validation) is engine-independent. Beside the dicts
an engine says where each came from (`Rendered.origins`), so later problems can name the template.
"""

from collections.abc import Callable

from fluxgate.render.engines.base import Rendered, TemplateRequest
from fluxgate.render.engines.helm import render_helm
from fluxgate.render.engines.jsonnet import render_jsonnet
from fluxgate.render.engines.kustomize import render_kustomize
from fluxgate.render.engines.yaml_vars import render_yaml

Engine = Callable[[TemplateRequest], Rendered]

ENGINES: dict[str, Engine] = {
    "jsonnet": render_jsonnet,
    "yaml": render_yaml,
    "kustomize": render_kustomize,
    "helm": render_helm,
}

__all__ = ["ENGINES", "Engine", "Rendered", "TemplateRequest"]
