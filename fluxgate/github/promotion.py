"""One promotion = one commit on a fluxgate branch + one pull request, in a constant number of calls.

Planning happens before any call (`plan_changes` against a fetched `Snapshot`). Then, for a new
promotion, exactly four requests: a tree on `base_tree` with inline contents and `sha: null` for
deletions, a commit, the branch ref, the pull request; labels and reviewers add one request each.
The order makes failure safe: a commit is unreachable until its ref exists, and a PR is opened only
once its branch points at the commit; if opening the PR fails, the branch we just created is
deleted again, so a failed promotion leaves nothing behind.

Re-running the same (app, env, version) is idempotent: the branch name is deterministic, an
existing branch with the same tree is kept, and the open PR for it is reused (never a second PR).
"""

from __future__ import annotations

import logging
from typing import Literal

import github
from github.GitRef import GitRef
from github.InputGitTreeElement import InputGitTreeElement
from github.Repository import Repository

from fluxgate.errors import FluxgateError
from fluxgate.github.changes import FileChanges, plan_changes
from fluxgate.github.checkout import Snapshot
from fluxgate.github.errors import GitHubRejected, calling
from fluxgate.github.gateway import GitHubGateway
from fluxgate.github.models import PromotionOutcome, PullRequest
from fluxgate.github.pr_text import Promotion, body_with_marker, head_branch, title

__all__ = ["open_promotion", "promote"]

log = logging.getLogger(__name__)


def _tree_elements(changes: FileChanges) -> list[InputGitTreeElement]:
    elements = [
        InputGitTreeElement(path, "100644", "blob", content=data.decode("utf-8"))
        for path, data in changes.upserts.items()
    ]
    elements += [InputGitTreeElement(path, "100644", "blob", sha=None) for path in changes.deleted]
    return elements


def _commit(
    gw: GitHubGateway, repo: Repository, name: str, promotion: Promotion, base: Snapshot, changes: FileChanges
) -> tuple[str, str]:
    """Write the tree and the commit; returns (commit sha, tree sha). Nothing is visible yet."""
    with calling("create tree", name):
        tree = repo.create_git_tree(
            _tree_elements(changes),
            github.GitTree.GitTree(
                repo.requester,
                {},
                {"sha": base.tree, "url": f"{repo.url}/git/trees/{base.tree}"},
                completed=True,
            ),
        )
    who = github.InputGitAuthor(gw.settings.committer_name, gw.settings.committer_email)
    message = f"{title(promotion)}\n\n{changes.describe()}\n"
    with calling("create commit", name):
        parent = github.GitCommit.GitCommit(
            repo.requester,
            {},
            {"sha": base.commit, "url": f"{repo.url}/git/commits/{base.commit}"},
            completed=True,
        )
        commit = repo.create_git_commit(message, tree, [parent], author=who, committer=who)
    return commit.sha, tree.sha


def _point_branch(
    gw: GitHubGateway, repo: Repository, name: str, branch: str, commit: str, tree: str
) -> tuple[GitRef | None, bool]:
    """Create the branch, or move an existing one whose content differs.

    Returns the ref when this call created it (so a failure later can delete it), and whether the
    branch now points somewhere new.
    """
    try:
        with calling(f"create branch {branch}", name):
            return repo.create_git_ref(f"refs/heads/{branch}", commit), True
    except GitHubRejected as exc:
        if "already exists" not in exc.github_message:
            raise
    with calling(f"read branch {branch}", name):
        ref = repo.get_git_ref(f"heads/{branch}")
        existing = repo.get_git_commit(ref.object.sha)
        if existing.tree.sha == tree:
            return None, False
        ref.edit(commit, force=True)  # fluxgate owns this branch: a re-render replaces it
    return None, True


def open_promotion(
    gw: GitHubGateway,
    name: str,
    promotion: Promotion,
    base: Snapshot,
    changes: FileChanges,
    summary_markdown: str,
    labels: list[str] | None = None,
    reviewers: list[str] | None = None,
    team_reviewers: list[str] | None = None,
) -> PromotionOutcome:
    """Commit `changes` on top of `base` to the promotion's branch and open (or reuse) its PR."""
    branch = head_branch(promotion)
    counts = {"added": len(changes.added), "changed": len(changes.changed), "deleted": len(changes.deleted)}
    if changes.empty:
        return PromotionOutcome(
            status="no_changes",
            head_branch=branch,
            base_sha=base.commit,
            message=f"{promotion.env} already matches {promotion.app} {promotion.version} at "
            f"{base.branch}@{base.commit[:12]}: no pull request opened",
        )
    repo = gw.repo(name)
    commit, tree = _commit(gw, repo, name, promotion, base, changes)
    created, moved = _point_branch(gw, repo, name, branch, commit, tree)
    body = body_with_marker(promotion, summary_markdown)
    if created is None:  # a re-run: the branch was there already
        earlier = gw.find_pull_request(name, branch, "all")
        if earlier is not None and earlier.state == "open":
            if moved:
                with calling(f"update pull request #{earlier.number}", name):
                    gw.repo(name).get_pull(earlier.number).edit(title=title(promotion), body=body)
            return _outcome("updated" if moved else "reused", earlier, base, branch, counts)
        if earlier is not None and earlier.merged and not moved:
            return _outcome("merged_before", earlier, base, branch, counts)
    try:
        with calling(f"open pull request from {branch}", name):
            pr = repo.create_pull(base=base.branch, head=branch, title=title(promotion), body=body)
    except Exception:
        if created is not None:  # never leave a branch without its PR
            _delete_quietly(created, name, branch)
        raise
    with calling(f"label pull request #{pr.number}", name):
        if labels:
            pr.add_to_labels(*labels)
    gw.request_reviewers(name, pr.number, reviewers or [], team_reviewers or [])
    state = GitHubGateway._pull_request(name, pr)
    return PromotionOutcome(
        status="opened",
        head_branch=branch,
        base_sha=base.commit,
        commit_sha=commit,
        pull_request=state,
        message=f"opened {state.url}: {changes.describe()}",
        **counts,
    )


def _delete_quietly(ref: GitRef, name: str, branch: str) -> None:
    """Best-effort cleanup: the caller re-raises the error that matters, not this one."""
    try:
        with calling(f"delete branch {branch}", name):
            ref.delete()
    except FluxgateError as exc:
        log.warning("could not delete %s after a failed promotion: %s", branch, exc)


def _outcome(
    status: Literal["reused", "updated", "merged_before"],
    pr: PullRequest,
    base: Snapshot,
    branch: str,
    counts: dict[str, int],
) -> PromotionOutcome:
    words = {"updated": "updated", "reused": "reused", "merged_before": "already merged in"}[status]
    return PromotionOutcome(
        status=status,
        head_branch=branch,
        base_sha=base.commit,
        commit_sha=pr.head_sha,
        pull_request=pr,
        message=f"{words} {pr.url}",
        **counts,
    )


def promote(
    gw: GitHubGateway,
    name: str,
    base_branch: str,
    promotion: Promotion,
    files: dict[str, bytes],
    folders: list[str],
    summary_markdown: str,
    *,
    labels: list[str] | None = None,
    reviewers: list[str] | None = None,
    team_reviewers: list[str] | None = None,
    base: Snapshot | None = None,
) -> PromotionOutcome:
    """Make `folders` of `base_branch` hold exactly `files`, through a reviewed PR.

    Pass `base` when the caller already fetched it (the render stage does, to summarise the change
    against the same commit); otherwise it is fetched here.
    """
    base = base or gw.snapshot(name, base_branch)
    changes = plan_changes(base.files, files, folders)
    return open_promotion(
        gw, name, promotion, base, changes, summary_markdown, labels, reviewers, team_reviewers
    )
