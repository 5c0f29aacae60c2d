"""A promotion writes an environment's rendered files as one commit and one PR, in a fixed number of
API calls however many files change; re-running it never opens a second PR."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgate.github import Promotion, promote, read_marker
from fluxgate.sandbox.github import RunningEmulator
from tests.github.conftest import Calls
from tests.github.gateway import gateway, manifests, rest_calls

PROMOTION = Promotion(app="shop", env="dev", version="1.0.0")
NEW_PR = [
    "POST /repos/{owner}/{repo}/git/trees",
    "POST /repos/{owner}/{repo}/git/commits",
    "POST /repos/{owner}/{repo}/git/refs",
    "POST /repos/{owner}/{repo}/pulls",
    "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
]


@pytest.mark.parametrize("count", [1, 10, 1000])
def test_any_number_of_files_costs_the_same_five_calls(
    github: RunningEmulator,
    manifests_repo: str,
    calls: Calls,
    tmp_path: Path,
    clone,
    count: int,  # type: ignore[no-untyped-def]
) -> None:
    gw = gateway(github, tmp_path)
    files = manifests(count)
    with calls.counting() as made:
        outcome = promote(
            gw, manifests_repo, "main", PROMOTION, files, ["dev"], "### 1 change", labels=["fluxgate"]
        )
    assert rest_calls(made) == NEW_PR
    assert outcome.status == "opened" and outcome.added == count
    pr = outcome.pull_request
    assert pr is not None and pr.head_branch == "fluxgate/shop/dev/1.0.0" and pr.promotion == PROMOTION
    checkout = clone(manifests_repo, pr.head_branch)
    written = {str(p.relative_to(checkout)): p.read_bytes() for p in (checkout / "dev").rglob("*.yaml")}
    assert written == files
    assert (checkout / "README.md").exists()


def test_the_pull_request_shows_the_summary_and_carries_a_hidden_marker(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    import github as pygithub

    gw = gateway(github, tmp_path)
    outcome = promote(
        gw,
        manifests_repo,
        "main",
        PROMOTION,
        manifests(2),
        ["dev"],
        "| ➕ added | ConfigMap | shop | item-0000 |",
        labels=["fluxgate", "env:dev"],
        reviewers=["alice"],
        team_reviewers=["platform"],
    )
    assert outcome.pull_request is not None
    raw = (
        pygithub.Github(auth=pygithub.Auth.Token("ghp_reviewer"), base_url=github.url)
        .get_repo(manifests_repo)
        .get_pull(outcome.pull_request.number)
    )
    assert raw.title == "Deploy shop 1.0.0 to dev"
    assert "| ➕ added | ConfigMap | shop | item-0000 |" in raw.body
    assert read_marker(raw.body) == PROMOTION
    assert "<!--" in raw.body.split("item-0000")[1]  # the marker is an HTML comment, hidden when rendered
    assert [label.name for label in raw.labels] == ["fluxgate", "env:dev"]
    assert [u.login for u in raw.requested_reviewers] == ["alice"]
    assert [t.slug for t in raw.requested_teams] == ["platform"]


def test_running_the_same_promotion_again_reuses_its_pull_request(
    github: RunningEmulator, manifests_repo: str, calls: Calls, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path)
    first = promote(gw, manifests_repo, "main", PROMOTION, manifests(3), ["dev"], "summary")
    with calls.counting():
        again = promote(gw, manifests_repo, "main", PROMOTION, manifests(3), ["dev"], "summary")
    assert again.status == "reused"
    assert first.pull_request and again.pull_request
    assert again.pull_request.number == first.pull_request.number
    assert again.pull_request.head_sha == first.pull_request.head_sha
    open_prs = [r for r in github.emulator.state.repos[manifests_repo].pulls.values() if r.state == "open"]
    assert len(open_prs) == 1
    assert "POST /repos/{owner}/{repo}/issues/{issue_number}/labels" not in calls.routes()


def test_a_re_render_of_the_same_version_updates_the_open_pull_request(
    github: RunningEmulator,
    manifests_repo: str,
    tmp_path: Path,
    clone,  # type: ignore[no-untyped-def]
) -> None:
    gw = gateway(github, tmp_path)
    first = promote(gw, manifests_repo, "main", PROMOTION, manifests(3), ["dev"], "first")
    fixed = manifests(3) | {"dev/shop/configmap-extra.yaml": b"kind: ConfigMap\n"}
    again = promote(gw, manifests_repo, "main", PROMOTION, fixed, ["dev"], "second")
    assert again.status == "updated"
    assert first.pull_request and again.pull_request
    assert again.pull_request.number == first.pull_request.number
    assert (clone(manifests_repo, again.head_branch) / "dev/shop/configmap-extra.yaml").exists()


def test_files_no_longer_rendered_are_deleted_and_other_environments_are_untouched(
    github: RunningEmulator,
    manifests_repo: str,
    tmp_path: Path,
    clone,  # type: ignore[no-untyped-def]
) -> None:
    github.emulator.commit_files(
        manifests_repo, "main", manifests(3) | manifests(2, env="prod"), "seed", author="fluxgate-bot"
    )
    gw = gateway(github, tmp_path)
    files = dict(list(manifests(3).items())[:1])  # two of the three dev objects are gone
    outcome = promote(
        gw,
        manifests_repo,
        "main",
        Promotion(app="shop", env="dev", version="2.0.0"),
        files,
        ["dev"],
        "summary",
    )
    assert (outcome.added, outcome.changed, outcome.deleted) == (0, 0, 2)
    checkout = clone(manifests_repo, outcome.head_branch)
    assert sorted(p.name for p in (checkout / "dev/shop").iterdir()) == ["configmap-item-0000.yaml"]
    assert len(list((checkout / "prod/shop").iterdir())) == 2


def test_an_environment_that_already_matches_opens_nothing_and_says_so(
    github: RunningEmulator, manifests_repo: str, calls: Calls, tmp_path: Path
) -> None:
    github.emulator.commit_files(manifests_repo, "main", manifests(5), "seed", author="fluxgate-bot")
    gw = gateway(github, tmp_path)
    with calls.counting() as made:
        outcome = promote(gw, manifests_repo, "main", PROMOTION, manifests(5), ["dev"], "summary")
    assert outcome.status == "no_changes" and outcome.pull_request is None
    assert "dev already matches shop 1.0.0" in outcome.message and "no pull request opened" in outcome.message
    assert rest_calls(made) == []


def test_a_promotion_merged_before_is_reported_not_reopened(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path)
    first = promote(gw, manifests_repo, "main", PROMOTION, manifests(2), ["dev"], "summary")
    assert first.pull_request is not None
    base = gw.snapshot(manifests_repo, "main")
    gw.merge(manifests_repo, first.pull_request.number, "squash")
    again = promote(gw, manifests_repo, "main", PROMOTION, manifests(2), ["dev"], "summary", base=base)
    assert again.status == "merged_before"
    assert again.pull_request is not None and again.pull_request.merged
