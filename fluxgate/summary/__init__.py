"""Change summaries: what a rendered release changes against what an environment runs now."""

from fluxgate.summary.compare import (
    ChangeSummary,
    ImageChange,
    ResourceChange,
    changed_fields,
    deployed_images,
    summarize,
)
from fluxgate.summary.current import CurrentState, read_current, read_directory, read_git_ref
from fluxgate.summary.markdown import to_markdown

__all__ = [
    "ChangeSummary",
    "CurrentState",
    "ImageChange",
    "ResourceChange",
    "changed_fields",
    "deployed_images",
    "read_current",
    "read_directory",
    "read_git_ref",
    "summarize",
    "to_markdown",
]
