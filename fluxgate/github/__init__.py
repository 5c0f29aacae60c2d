"""The GitHub gateway: everything fluxgate does to GitHub, through PyGithub, in one typed place.

Only this package imports PyGithub (an import-linter contract keeps it so).
"""

from fluxgate.github.changes import FileChanges, blob_sha, plan_changes
from fluxgate.github.checkout import Snapshot, SourceTree
from fluxgate.github.errors import (
    GitHubAuthError,
    GitHubForbidden,
    GitHubNotFound,
    GitHubNotMergeable,
    GitHubRateLimited,
    GitHubRejected,
    GitHubUnavailable,
)
from fluxgate.github.gateway import GitHubGateway
from fluxgate.github.models import (
    CombinedStatus,
    CommitState,
    CommitStatus,
    DeploymentState,
    MergeMethod,
    PromotionOutcome,
    PullRequest,
    Review,
    ReviewState,
    WorkflowRun,
)
from fluxgate.github.pr_text import Promotion, body_with_marker, head_branch, read_marker, title
from fluxgate.github.promotion import open_promotion, promote
from fluxgate.github.retry import sent_once
from fluxgate.github.settings import GitHubSettings, settings_from_environment

__all__ = [
    "CombinedStatus",
    "CommitState",
    "CommitStatus",
    "DeploymentState",
    "FileChanges",
    "GitHubAuthError",
    "GitHubForbidden",
    "GitHubGateway",
    "GitHubNotFound",
    "GitHubNotMergeable",
    "GitHubRateLimited",
    "GitHubRejected",
    "GitHubSettings",
    "GitHubUnavailable",
    "MergeMethod",
    "Promotion",
    "PromotionOutcome",
    "PullRequest",
    "Review",
    "ReviewState",
    "Snapshot",
    "SourceTree",
    "WorkflowRun",
    "blob_sha",
    "body_with_marker",
    "head_branch",
    "open_promotion",
    "plan_changes",
    "promote",
    "read_marker",
    "sent_once",
    "settings_from_environment",
    "title",
]
