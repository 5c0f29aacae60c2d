"""Planning a promotion (pure: no GitHub): which files change, the PR's words, the settings' rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fluxgate.github import GitHubSettings, Promotion, blob_sha, body_with_marker, head_branch, plan_changes
from fluxgate.github.gateway import trim
from fluxgate.github.pr_text import BODY_LIMIT, read_marker

EXISTING = {
    "README.md": blob_sha(b"# manifests\n"),
    "dev/shop/deployment-web.yaml": blob_sha(b"image: web:1.0.0\n"),
    "dev/shop/service-web.yaml": blob_sha(b"port: 80\n"),
    "dev/shop/configmap-old.yaml": blob_sha(b"old: true\n"),
    "prod/shop/deployment-web.yaml": blob_sha(b"image: web:0.9.0\n"),
}


def test_blob_ids_match_git() -> None:
    assert blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_changed_added_and_removed_files_are_found_by_content() -> None:
    desired = {
        "dev/shop/deployment-web.yaml": b"image: web:1.1.0\n",
        "dev/shop/service-web.yaml": b"port: 80\n",
        "dev/shop/hpa-web.yaml": b"max: 3\n",
    }
    changes = plan_changes(EXISTING, desired, ["dev"])
    assert list(changes.changed) == ["dev/shop/deployment-web.yaml"]
    assert list(changes.added) == ["dev/shop/hpa-web.yaml"]
    assert changes.deleted == ["dev/shop/configmap-old.yaml"]
    assert changes.describe() == "1 added, 1 changed, 1 deleted"


def test_other_environments_and_files_outside_the_folder_are_never_touched() -> None:
    changes = plan_changes(EXISTING, {}, ["dev"])
    assert "prod/shop/deployment-web.yaml" not in changes.deleted and "README.md" not in changes.deleted
    assert plan_changes(EXISTING, {}, ["de"]).empty  # a prefix of a folder name is not the folder


def test_a_file_outside_the_owned_folders_is_refused() -> None:
    with pytest.raises(ValueError, match=r"prod/x\.yaml is outside the folders"):
        plan_changes(EXISTING, {"prod/x.yaml": b""}, ["dev"])


def test_an_unchanged_environment_plans_nothing() -> None:
    same = {
        "dev/shop/deployment-web.yaml": b"image: web:1.0.0\n",
        "dev/shop/service-web.yaml": b"port: 80\n",
        "dev/shop/configmap-old.yaml": b"old: true\n",
    }
    assert plan_changes(EXISTING, same, ["dev"]).empty


def test_the_head_branch_is_deterministic_and_git_safe() -> None:
    assert head_branch(Promotion(app="shop", env="dev", version="1.2.3")) == "fluxgate/shop/dev/1.2.3"
    assert (
        head_branch(Promotion(app="shop", env="dev", version="1.2.3+build 7..x"))
        == "fluxgate/shop/dev/1.2.3-build-7.x"
    )


def test_the_marker_survives_the_body_and_a_huge_summary_is_cut_to_fit() -> None:
    promotion = Promotion(app="shop", env="prod", version="2.0.0")
    body = body_with_marker(promotion, "| row |\n" * 20000)
    assert len(body) <= BODY_LIMIT and "longer than a PR body allows" in body
    assert read_marker(body) == promotion
    assert read_marker("a PR someone else opened") is None
    assert read_marker("<!-- fluxgate:promotion {not json} -->") is None


def test_status_descriptions_fit_githubs_140_characters() -> None:
    assert trim("short") == "short"
    long_words = "Flux applied shop 1.2.3 to prod-eu and every health check passed " * 4
    cut = trim(long_words)
    assert len(cut) <= 140 and cut.endswith("…") and not cut.endswith(" …")
    assert len(trim("x" * 500)) == 140


def test_settings_need_exactly_one_identity_and_hide_secrets() -> None:
    with pytest.raises(ValidationError, match="either token or app_id"):
        GitHubSettings(token="t", app_id=1, private_key="k", installation_id=2)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="set token, or all of"):
        GitHubSettings(app_id=1)
    settings = GitHubSettings(token="ghp_secret")  # type: ignore[arg-type]
    assert "ghp_secret" not in repr(settings) and "ghp_secret" not in settings.model_dump_json()


@pytest.mark.parametrize(
    ("api", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.acme.io/api/v3", "https://ghe.acme.io"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ],
)
def test_clone_urls_follow_the_api_url(api: str, web: str) -> None:
    assert GitHubSettings(api_url=api, token="t").web_url == web  # type: ignore[arg-type]
