"""Pull requests on the emulated GitHub behave like GitHub's where fluxgate relies on them: one open PR per
head, listing by head and state, the three merge methods writing the git history GitHub writes, conflicts,
stale heads, required approvals on protected branches, reviewers, labels, and pushes to the head branch."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import github as gh
import httpx
import pytest
from github.PullRequest import PullRequest
from github.Repository import Repository

from fluxgate.sandbox.github import RunningEmulator
from tests.github.conftest import TOKEN

REVIEWER_TOKEN = "ghp_reviewer"


def client(github: RunningEmulator, token: str = TOKEN) -> gh.Github:
    return gh.Github(auth=gh.Auth.Token(token), base_url=github.url, lazy=True, retry=None,
                     seconds_between_requests=None, seconds_between_writes=None)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "Dev",
           "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com"}
    auth = f"http.extraHeader=Authorization: token {TOKEN}"
    return subprocess.run(["git", "-C", str(cwd), "-c", auth, *args], capture_output=True, text=True, env=env,
                          check=True).stdout


def branch(
    github: RunningEmulator, repo: str, name: str, *changes: dict[str, str], start: str = "main"
) -> str:
    """A branch off `start` with one commit per entry of `changes`; returns its tip."""
    emulator = github.emulator
    _, store = emulator.repo(*repo.split("/"))
    tip = store.ref(f"refs/heads/{start}")
    assert tip is not None
    store.set_ref(f"refs/heads/{name}", tip, None)
    for number, files in enumerate(changes):
        tip = emulator.commit_files(repo, name, files, f"{name} change {number + 1}", "dev")
    return tip


def base_head(github: RunningEmulator, repo: str, name: str = "main") -> str | None:
    _, store = github.emulator.repo(*repo.split("/"))
    return store.ref(f"refs/heads/{name}")


@pytest.fixture
def repo(github: RunningEmulator, manifests_repo: str) -> Repository:
    return client(github).get_repo(manifests_repo)


def open_pull(repo: Repository, head: str, title: str = "Promote to dev") -> PullRequest:
    return repo.create_pull(base="main", head=head, title=title, body="What changes")


def test_opening_a_pull_request_shows_its_head_base_and_changes(
    github: RunningEmulator, repo: Repository
) -> None:
    tip = branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"}, {"dev/b.yaml": "b\n"})

    pr = open_pull(repo, "acme:fluxgate/dev")

    again = repo.get_pull(pr.number)
    assert (again.state, again.merged, again.mergeable, again.draft) == ("open", False, True, False)
    assert (again.head.ref, again.head.sha, again.base.ref) == ("fluxgate/dev", tip, "main")
    assert (again.commits, again.changed_files) == (2, 2)
    assert (again.title, again.body, again.user.login) == ("Promote to dev", "What changes", "fluxgate-bot")


def test_a_second_open_pull_request_for_the_same_head_is_rejected(
    github: RunningEmulator, repo: Repository
) -> None:
    branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"})
    open_pull(repo, "fluxgate/dev")

    with pytest.raises(gh.GithubException) as refused:
        open_pull(repo, "fluxgate/dev", "Again")

    assert refused.value.status == 422
    assert "A pull request already exists for acme:fluxgate/dev." in str(refused.value.data)


def test_a_pull_request_without_changes_is_rejected(github: RunningEmulator, repo: Repository) -> None:
    branch(github, repo.full_name, "fluxgate/empty")

    with pytest.raises(gh.GithubException) as refused:
        open_pull(repo, "fluxgate/empty")

    assert refused.value.status == 422
    assert "No commits between main and fluxgate/empty" in str(refused.value.data)


def test_pull_requests_are_listed_by_head_and_state(github: RunningEmulator, repo: Repository) -> None:
    branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"})
    branch(github, repo.full_name, "fluxgate/prod", {"prod/a.yaml": "a\n"})
    dev = open_pull(repo, "fluxgate/dev", "dev")
    prod = open_pull(repo, "fluxgate/prod", "prod")
    prod.edit(state="closed")

    def numbers(**query: Any) -> list[int]:
        return [p.number for p in repo.get_pulls(**query)]

    assert numbers(head="acme:fluxgate/dev") == [dev.number]
    assert numbers(head="acme:fluxgate/prod") == []
    assert numbers(head="acme:fluxgate/prod", state="closed") == [prod.number]
    assert numbers(state="all") == [prod.number, dev.number]
    assert numbers(state="all", base="main", head="acme:fluxgate/nothing") == []
    assert numbers() == [dev.number]


def test_a_merge_commit_has_the_base_and_the_head_as_parents(
    github: RunningEmulator, repo: Repository, clone: Any
) -> None:
    old_base = base_head(github, repo.full_name)
    tip = branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"}, {"dev/b.yaml": "b\n"})
    pr = open_pull(repo, "fluxgate/dev")

    result = pr.merge(merge_method="merge", sha=tip)

    assert result.merged and result.sha == base_head(github, repo.full_name)
    path = clone(repo.full_name)
    assert git(path, "log", "-1", "--format=%H %P").split() == [result.sha, old_base, tip]
    subject = git(path, "log", "-1", "--format=%s").strip()
    assert subject == f"Merge pull request #{pr.number} from acme/fluxgate/dev"
    assert (path / "dev" / "b.yaml").read_text() == "b\n"
    merged = repo.get_pull(pr.number)
    assert (merged.merged, merged.state, merged.merge_commit_sha) == (True, "closed", result.sha)
    assert merged.merged_by.login == "fluxgate-bot"
    assert merged.merged_at is not None and merged.closed_at is not None


def test_a_squash_merge_is_one_commit_on_the_base(
    github: RunningEmulator, repo: Repository, clone: Any
) -> None:
    old_base = base_head(github, repo.full_name)
    branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"}, {"dev/b.yaml": "b\n"})
    pr = open_pull(repo, "fluxgate/dev")

    result = pr.merge(merge_method="squash")

    path = clone(repo.full_name)
    assert git(path, "log", "--format=%H %P").splitlines()[:2] == [f"{result.sha} {old_base}", f"{old_base} "]
    assert git(path, "log", "-1", "--format=%s").strip() == f"Promote to dev (#{pr.number})"
    assert sorted(p.name for p in (path / "dev").iterdir()) == ["a.yaml", "b.yaml"]
    assert repo.get_pull(pr.number).merge_commit_sha == result.sha


def test_a_rebase_merge_replays_each_commit_on_the_base(
    github: RunningEmulator, repo: Repository, clone: Any
) -> None:
    tip = branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"}, {"dev/b.yaml": "b\n"})
    moved_base = github.emulator.commit_files(repo.full_name, "main", {"other.yaml": "o\n"}, "meanwhile",
                                              "dev")
    pr = open_pull(repo, "fluxgate/dev")

    result = pr.merge(merge_method="rebase")

    path = clone(repo.full_name)
    log = git(path, "log", "--format=%H|%P|%s|%an").splitlines()
    replayed = [line.split("|") for line in log[:2]]
    assert [r[2] for r in replayed] == ["fluxgate/dev change 2", "fluxgate/dev change 1"]
    assert replayed[0][0] == result.sha and replayed[0][1] == replayed[1][0]
    assert replayed[1][1] == moved_base
    assert {r[3] for r in replayed} == {"dev"}  # authors are kept
    assert tip not in git(path, "log", "--format=%H")
    assert sorted(p.name for p in path.iterdir() if p.suffix == ".yaml") == ["other.yaml"]
    assert sorted(p.name for p in (path / "dev").iterdir()) == ["a.yaml", "b.yaml"]
    assert repo.get_pull(pr.number).merged


def test_a_conflicting_pull_request_is_not_mergeable_and_the_base_is_unchanged(
    github: RunningEmulator, repo: Repository
) -> None:
    branch(github, repo.full_name, "fluxgate/dev", {"README.md": "# from the branch\n"})
    github.emulator.commit_files(repo.full_name, "main", {"README.md": "# from main\n"}, "meanwhile", "dev")
    before = base_head(github, repo.full_name)
    pr = open_pull(repo, "fluxgate/dev")

    conflicted = repo.get_pull(pr.number)
    assert (conflicted.mergeable, conflicted.mergeable_state) == (False, "dirty")
    for method in ("merge", "squash", "rebase"):
        with pytest.raises(gh.GithubException) as refused:
            pr.merge(merge_method=method)
        assert refused.value.status == 405

    assert base_head(github, repo.full_name) == before
    assert (repo.get_pull(pr.number).state, repo.get_pull(pr.number).merged) == ("open", False)


def test_merging_with_a_stale_head_sha_is_a_conflict(github: RunningEmulator, repo: Repository) -> None:
    first = branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"})
    pr = open_pull(repo, "fluxgate/dev")
    github.emulator.commit_files(repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a2\n"}, "newer", "dev")
    before = base_head(github, repo.full_name)

    with pytest.raises(gh.GithubException) as refused:
        pr.merge(sha=first)

    assert refused.value.status == 409
    assert "Head branch was modified" in str(refused.value.data)
    assert base_head(github, repo.full_name) == before
    assert not repo.get_pull(pr.number).merged


def test_a_protected_base_needs_an_approval_from_someone_other_than_the_author(
    github: RunningEmulator, repo: Repository
) -> None:
    github.emulator.protect_branch(repo.full_name, "main", approvals=1)
    branch(github, repo.full_name, "fluxgate/prod", {"prod/a.yaml": "a\n"})
    pr = open_pull(repo, "fluxgate/prod")

    with pytest.raises(gh.GithubException) as unapproved:
        pr.merge()
    with pytest.raises(gh.GithubException) as self_approved:
        pr.create_review(event="APPROVE")
    blocked = repo.get_pull(pr.number).mergeable_state
    as_alice = client(github, REVIEWER_TOKEN).get_repo(repo.full_name).get_pull(pr.number)
    as_alice.create_review(event="APPROVE", body="LGTM")
    approved = repo.get_pull(pr.number).mergeable_state
    result = pr.merge()

    assert unapproved.value.status == 405
    assert "approving review" in str(unapproved.value.data)
    assert self_approved.value.status == 422
    assert (blocked, approved) == ("blocked", "clean")
    assert result.merged
    assert [(r.user.login, r.state) for r in pr.get_reviews()] == [("alice", "APPROVED")]


def test_an_approval_withdrawn_by_requesting_changes_no_longer_counts(
    github: RunningEmulator, repo: Repository
) -> None:
    github.emulator.protect_branch(repo.full_name, "main", approvals=1)
    branch(github, repo.full_name, "fluxgate/prod", {"prod/a.yaml": "a\n"})
    pr = open_pull(repo, "fluxgate/prod")
    as_alice = client(github, REVIEWER_TOKEN).get_repo(repo.full_name).get_pull(pr.number)
    as_alice.create_review(event="APPROVE")
    as_alice.create_review(event="REQUEST_CHANGES", body="wait")

    with pytest.raises(gh.GithubException) as refused:
        pr.merge()

    assert refused.value.status == 405
    as_alice.create_review(event="APPROVE")
    assert pr.merge().merged


def test_a_closed_pull_request_can_be_reopened_but_not_merged(
    github: RunningEmulator, repo: Repository
) -> None:
    branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"})
    pr = open_pull(repo, "fluxgate/dev")

    pr.edit(state="closed")
    closed = repo.get_pull(pr.number)
    seen_closed = (closed.state, closed.merged, closed.closed_at is not None)  # lazy: read now
    with pytest.raises(gh.GithubException) as refused:
        pr.merge()
    replacement = open_pull(repo, "fluxgate/dev", "replacement")
    with pytest.raises(gh.GithubException) as duplicate:
        pr.edit(state="open")
    replacement.edit(state="closed")
    pr.edit(state="open")

    assert seen_closed == ("closed", False, True)
    assert refused.value.status == 405
    assert duplicate.value.status == 422
    reopened = repo.get_pull(pr.number)
    assert (reopened.state, reopened.closed_at) == ("open", None)
    assert pr.merge().merged


def test_reviewers_and_teams_can_be_requested(github: RunningEmulator, repo: Repository) -> None:
    branch(github, repo.full_name, "fluxgate/prod", {"prod/a.yaml": "a\n"})
    pr = open_pull(repo, "fluxgate/prod")

    pr.create_review_request(reviewers=["alice", "bob"], team_reviewers=["platform"])
    pr.create_review_request(reviewers=["alice"])
    users, teams = pr.get_review_requests()
    with pytest.raises(gh.GithubException) as author:
        pr.create_review_request(reviewers=["fluxgate-bot"])

    assert [u.login for u in users] == ["alice", "bob"]
    assert [t.slug for t in teams] == ["platform"]
    assert [u.login for u in repo.get_pull(pr.number).requested_reviewers] == ["alice", "bob"]
    assert [t.slug for t in repo.get_pull(pr.number).requested_teams] == ["platform"]
    assert author.value.status == 422
    client(github, REVIEWER_TOKEN).get_repo(repo.full_name).get_pull(pr.number).create_review(event="COMMENT")
    assert [u.login for u in repo.get_pull(pr.number).requested_reviewers] == ["bob"]


def test_labels_are_added_once_and_shown_on_the_pull_request(
    github: RunningEmulator, repo: Repository
) -> None:
    branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"})
    pr = open_pull(repo, "fluxgate/dev")

    added = pr.add_to_labels("fluxgate", "env:dev")
    pr.add_to_labels("env:dev", "env:dev")

    assert added is None
    assert [label.name for label in repo.get_pull(pr.number).labels] == ["fluxgate", "env:dev"]
    assert [label.name for label in next(iter(repo.get_pulls(head="acme:fluxgate/dev"))).labels] == [
        "fluxgate", "env:dev"
    ]


def test_pushing_to_the_head_branch_updates_the_pull_request(
    github: RunningEmulator, repo: Repository, clone: Any
) -> None:
    first = branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"})
    pr = open_pull(repo, "fluxgate/dev")

    by_api = github.emulator.commit_files(repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a2\n"}, "api",
                                          "dev")
    after_api = repo.get_pull(pr.number)
    seen_after_api = (after_api.head.sha, after_api.commits)  # lazy: read now
    path = clone(repo.full_name, "fluxgate/dev")
    (path / "dev" / "c.yaml").write_text("c\n")
    git(path, "add", ".")
    git(path, "commit", "--quiet", "-m", "by git")
    git(path, "push", "--quiet", "origin", "fluxgate/dev")
    by_git = git(path, "rev-parse", "HEAD").strip()
    after_git = repo.get_pull(pr.number)

    assert first != by_api != by_git
    assert seen_after_api == (by_api, 2)
    assert (after_git.head.sha, after_git.commits, after_git.changed_files) == (by_git, 3, 2)
    with pytest.raises(gh.GithubException) as stale:
        pr.merge(sha=by_api)
    assert stale.value.status == 409
    assert pr.merge(sha=by_git).merged


def test_deleting_the_head_branch_closes_the_pull_request(github: RunningEmulator, repo: Repository) -> None:
    branch(github, repo.full_name, "fluxgate/dev", {"dev/a.yaml": "a\n"})
    pr = open_pull(repo, "fluxgate/dev")

    deleted = httpx.delete(f"{github.url}/repos/{repo.full_name}/git/refs/heads/fluxgate/dev",
                           headers={"Authorization": f"token {TOKEN}"})

    assert deleted.status_code == 204

    closed = repo.get_pull(pr.number)
    assert (closed.state, closed.merged) == ("closed", False)
