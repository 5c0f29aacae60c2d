"""The render stage: templates, a release and an environment's config -> a manifest set."""

from fluxgate.objects import ObjectId, collect_objects
from fluxgate.render.emit import dump, dump_all
from fluxgate.render.pipeline import (
    ManifestSet,
    RenderResult,
    make_validator,
    render_environment,
    template_context,
)
from fluxgate.render.write import write_tree

__all__ = [
    "ManifestSet",
    "ObjectId",
    "RenderResult",
    "collect_objects",
    "dump",
    "dump_all",
    "make_validator",
    "render_environment",
    "template_context",
    "write_tree",
]
