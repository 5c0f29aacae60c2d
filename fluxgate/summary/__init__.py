"""Change summaries: what a rendered release changes against what an environment runs now."""

from fluxgate.summary.compare import (
    ChangeSummary,
    ImageChange,
    ResourceChange,
    changed_fields,
    deployed_images,
    summarize,
)
from fluxgate.summary.current import CurrentState, read_current, read_directory, read_git_ref, read_text_at
from fluxgate.summary.drift import LEDGER_NAME, blob_id, drifted, ledger, ledger_path
from fluxgate.summary.markdown import to_markdown

__all__ = [
    "LEDGER_NAME",
    "ChangeSummary",
    "CurrentState",
    "ImageChange",
    "ResourceChange",
    "blob_id",
    "changed_fields",
    "deployed_images",
    "drifted",
    "ledger",
    "ledger_path",
    "read_current",
    "read_directory",
    "read_git_ref",
    "read_text_at",
    "summarize",
    "to_markdown",
]
