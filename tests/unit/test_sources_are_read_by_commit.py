"""A release's sources are read by commit from a git cache: fetched once, never from a checkout, with one
line naming repository and commit when they cannot be read. Real git repositories, served over the
file protocol (the fetch is the same one the gateway makes over HTTPS)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fluxgate.config import load_config
from fluxgate.errors import ConfigError
from fluxgate.github import Promotion, head_branch, title
from fluxgate.github.checkout import SourceTree, fetch_source
from fluxgate.github.errors import GitHubNotFound
from fluxgate.release import Source, build_release
from fluxgate.render.digest import template_digest
from fluxgate.stage import load_pipeline, load_sources, pin_request, pinned, repo_path, resolve_source
from tests.cli.conftest import EXAMPLES


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def _push(web: Path, repo: str, files: dict[str, str]) -> str:
    """A commit of `files` on main of the served `repo`; returns its sha."""
    work = web / "work" / repo
    if not work.exists():
        work.mkdir(parents=True)
        _git(work, "init", "-q", "-b", "main")
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    _git(work, "add", "-A")
    _git(work, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "change")
    bare = web / f"{repo}.git"
    if not bare.exists():
        bare.parent.mkdir(parents=True, exist_ok=True)
        _git(web, "init", "-q", "--bare", str(bare))
        _git(bare, "symbolic-ref", "HEAD", "refs/heads/main")  # GitHub's HEAD: the default branch
    _git(work, "push", "-q", "--force", str(bare), "HEAD:refs/heads/main")
    return _git(work, "rev-parse", "HEAD")


class LocalGitHub:
    """The fetcher a stage uses, over the file protocol; counts what needed a fetch."""

    def __init__(self, web: Path, cache: Path) -> None:
        self.web, self.cache, self.fetches = web, cache, 0

    def source(self, repo: str, ref: str) -> SourceTree:
        tree = fetch_source(f"file://{self.web}", repo, ref, lambda: TOKEN, self.cache)
        self.fetches += tree.fetched
        return tree


@pytest.fixture
def web(tmp_path: Path) -> Path:
    return tmp_path / "web"


@pytest.fixture
def shop(web: Path, tmp_path: Path) -> tuple[Path, str]:
    """The shop example pushed as acme/shop, dev reading acme/shop-config; the local copy and its commit."""
    local = tmp_path / "checkout"
    shutil.copytree(EXAMPLES / "shop", local)
    config = local / "fluxgate.yaml"
    dev = "      repo: acme/shop-config\n      path: dev\n"
    text = config.read_text().replace("      path: config/dev\n", dev)
    config.write_text(text + "\ncode_repo: acme/shop\n")
    files = {str(p.relative_to(local)): p.read_text() for p in local.rglob("*") if p.is_file()}
    commit = _push(web, "acme/shop", files)
    _push(web, "acme/shop-config", {"dev/values.yaml": (local / "config/dev/values.yaml").read_text()})
    return config, commit


TOKEN = "ghp_" + "x" * 36
IMAGES = {"web": "ghcr.io/acme/shop-web:1.0.0", "worker": "ghcr.io/acme/shop-worker:1.0.0"}


def test_a_commit_is_fetched_once_and_then_served_from_the_cache(web: Path, tmp_path: Path) -> None:
    commit = _push(web, "acme/app", {"deploy/a.yaml": "a: 1\n"})
    first = fetch_source(f"file://{web}", "acme/app", "main", lambda: TOKEN, tmp_path / "cache")
    assert first.commit == commit and first.fetched and (first.root / "deploy/a.yaml").read_text() == "a: 1\n"

    def no_token() -> str:
        raise AssertionError("a commit in the cache needs no token (an App's costs a request)")

    again = fetch_source(f"file://{web}", "acme/app", commit, no_token, tmp_path / "cache")
    assert again == first.model_copy(update={"fetched": False})
    _push(web, "acme/app", {"deploy/a.yaml": "a: 2\n"})  # the branch moves on; the commit's tree does not
    assert (fetch_source(f"file://{web}", "acme/app", commit, no_token, tmp_path / "cache").root
            / "deploy/a.yaml").read_text() == "a: 1\n"


def test_a_symlink_in_the_repository_cannot_read_the_workers_disk(web: Path, tmp_path: Path) -> None:
    work = web / "work" / "acme/app"
    _push(web, "acme/app", {"README": "x\n"})
    (work / "secret").symlink_to("/etc/passwd")
    _git(work, "add", "-A")
    _git(work, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "link")
    _git(work, "push", "-q", str(web / "acme/app.git"), "HEAD:refs/heads/main")
    tree = fetch_source(f"file://{web}", "acme/app", "main", lambda: TOKEN, tmp_path / "cache")
    link = tree.root / "secret"
    assert not link.is_symlink() and link.read_text() == "/etc/passwd"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("3" * 40, f"acme/app has no commit {'3' * 40}"),
        ("no-such-branch", "acme/app has no branch or tag 'no-such-branch'"),
        ("--upload-pack=touch /x", "acme/app: '--upload-pack=touch /x' is not a branch, tag or commit"),
        ("main..other", "acme/app: 'main..other' is not a branch, tag or commit"),
    ],
)
def test_a_ref_that_names_nothing_is_one_line(web: Path, tmp_path: Path, ref: str, message: str) -> None:
    _push(web, "acme/app", {"a": "1\n"})
    with pytest.raises(GitHubNotFound) as caught:
        fetch_source(f"file://{web}", "acme/app", ref, lambda: TOKEN, tmp_path / "cache")
    assert caught.value.message == message


def test_the_stage_request_pins_every_source(web: Path, tmp_path: Path, shop: tuple[Path, str]) -> None:
    config_file, commit = shop
    github = LocalGitHub(web, tmp_path / "starter")
    source, config = resolve_source(github, load_config(config_file), None)  # default: triggers.branch
    assert source == Source(repo="acme/shop", commit=commit, path="fluxgate.yaml")
    release = build_release(config, IMAGES, "1.0.0").model_copy(update={"source": source})
    request = pin_request(github, release, "dev")
    config_commit = _git(web / "work" / "acme/shop-config", "rev-parse", "HEAD")
    assert request.configs == {"acme/shop-config": config_commit}
    assert request.source.digest == template_digest(load_config(config_file))  # what `fluxgate ci` records
    assert request.sources() == [
        f"code acme/shop@{commit} (fluxgate.yaml)",
        f"config acme/shop-config@{config_commit}",
        f"templates {request.source.digest}",
    ]
    assert pinned(github, request) is request  # nothing left open: no fetch

    # a worker with a cold cache: the two commits, once; later executions fetch nothing
    worker = LocalGitHub(web, tmp_path / "worker")
    sources = load_sources(worker, request)
    assert worker.fetches == 2
    assert (sources.checkouts["acme/shop-config"] / "dev/values.yaml").is_file()
    _push(web, "acme/shop-config", {"dev/values.yaml": "logLevel: changed\n"})
    again = load_sources(worker, request)
    assert worker.fetches == 2 and again.checkouts == sources.checkouts

    # promoted: the same code commit, the next environment's config pinned afresh
    staging = pinned(github, request.to("staging"))
    assert staging.source == request.source and staging.configs == {}  # staging reads the code repo


def test_unreadable_sources_are_one_line_naming_repo_and_commit(
    web: Path, tmp_path: Path, shop: tuple[Path, str]
) -> None:
    config_file, commit = shop
    github = LocalGitHub(web, tmp_path / "cache")
    with pytest.raises(ConfigError) as missing:
        load_pipeline(github, Source(repo="acme/shop", commit=commit, path="nested/fluxgate.yaml"))
    assert missing.value.message == f"acme/shop@{commit[:12]}: no nested/fluxgate.yaml at this commit"

    broken = _push(web, "acme/shop", {"fluxgate.yaml": "app: Shop!\n"})
    with pytest.raises(ConfigError) as invalid:
        load_pipeline(github, Source(repo="acme/shop", commit=broken))
    said = "\n".join(invalid.value.lines())
    assert said.startswith(f"acme/shop@{broken[:12]} fluxgate.yaml:1: app:") and str(tmp_path) not in said

    local = load_config(config_file).model_copy(update={"code_repo": None})
    with pytest.raises(ConfigError, match=r"^fluxgate.yaml: code_repo is not set: stages render"):
        resolve_source(github, local, "main")


def test_the_config_files_place_in_its_repository_is_found(web: Path, tmp_path: Path) -> None:
    _push(web, "acme/mono", {"apps/shop/fluxgate.yaml": "app: shop\n"})
    nested = web / "work" / "acme/mono" / "apps" / "shop" / "fluxgate.yaml"
    assert repo_path(nested) == "apps/shop/fluxgate.yaml"
    outside = tmp_path / "loose" / "fluxgate.yaml"
    outside.parent.mkdir()
    assert repo_path(outside) == "fluxgate.yaml"


def test_new_config_for_the_same_version_is_another_pr() -> None:
    plain = Promotion(app="shop", env="dev", version="1.0.0", code=f"acme/shop@{'a' * 40}")
    configured = plain.model_copy(update={"configs": {"acme/shop-config": "b" * 40}})
    newer = plain.model_copy(update={"configs": {"acme/shop-config": "c" * 40}})
    branches = {head_branch(p) for p in (plain, configured, newer)}
    assert branches == {
        "fluxgate/shop/dev/1.0.0-aaaaaaa",
        "fluxgate/shop/dev/1.0.0-aaaaaaa-bbbbbbb",
        "fluxgate/shop/dev/1.0.0-aaaaaaa-ccccccc",
    }
    assert title(plain) == "Deploy shop 1.0.0 to dev"
    assert title(newer) == "Deploy shop 1.0.0 to dev with config acme/shop-config@ccccccc"


def test_a_fetch_killed_midway_does_not_wedge_the_cache(web: Path, tmp_path: Path) -> None:
    """What `kill -9` of a git fetch leaves behind (its lock files) must not refuse every later fetch."""
    _push(web, "acme/app", {"a": "1\n"})
    cache = tmp_path / "cache"
    first = fetch_source(f"file://{web}", "acme/app", "main", lambda: TOKEN, cache)
    git_dir = cache / "acme/app.git"
    (git_dir / "shallow.lock").write_text("")
    (git_dir / "refs" / "heads").mkdir(parents=True, exist_ok=True)
    (git_dir / "refs" / "heads" / "main.lock").write_text("")
    commit = _push(web, "acme/app", {"a": "2\n"})
    again = fetch_source(f"file://{web}", "acme/app", "main", lambda: TOKEN, cache)
    assert again.commit == commit != first.commit and (again.root / "a").read_text() == "2\n"


def test_old_trees_are_pruned_and_half_written_ones_cleared(
    web: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fluxgate.github import checkout

    monkeypatch.setattr(checkout, "KEEP_TREES", 2)
    monkeypatch.setattr(checkout, "_IDLE", -1.0)
    cache = tmp_path / "cache"
    commits = [_push(web, "acme/app", {"a": f"{n}\n"}) for n in range(1)]
    fetch_source(f"file://{web}", "acme/app", commits[0], lambda: TOKEN, cache)
    for n in range(1, 4):
        commits.append(_push(web, "acme/app", {"a": f"{n}\n"}))
        half = cache / "trees" / "acme/app" / f".{commits[-1]}.99999"  # a writer killed midway
        (half / "deploy").mkdir(parents=True)
        fetch_source(f"file://{web}", "acme/app", commits[-1], lambda: TOKEN, cache)
        assert not half.exists()
    kept = sorted(p.name for p in (cache / "trees" / "acme/app").iterdir())
    assert kept == sorted(commits[-2:])
    # a pruned tree is written again from the cache's objects when a stage needs it
    again = fetch_source(f"file://{web}", "acme/app", commits[0], lambda: TOKEN, cache)
    assert (again.root / "a").read_text() == "0\n"


@pytest.mark.parametrize(
    "change",
    [
        {"source": {"repo": "../../etc", "commit": "a" * 40}},
        {"source": {"repo": "acme/..", "commit": "a" * 40}},
        {"source": {"repo": "acme/shop", "commit": "main"}},
        {"source": {"repo": "acme/shop", "commit": "a" * 40, "path": "../../etc/passwd"}},
        {"configs": {"acme/../../x": "b" * 40}},
        {"configs": {"acme/shop-config": "HEAD"}},
    ],
)
def test_a_run_made_by_hand_cannot_point_the_fetch_anywhere_else(change: dict[str, object]) -> None:
    """A run's parameters can be typed in the Prefect UI: they are checked before anything is fetched."""
    from pydantic import ValidationError

    from fluxgate.stage import StageRequest

    request = {"app": "shop", "version": "1.0.0", "env": "dev", "images": IMAGES,
               "source": {"repo": "acme/shop", "commit": "a" * 40}}  # fmt: skip
    StageRequest.model_validate(request)
    with pytest.raises(ValidationError):
        StageRequest.model_validate(request | change)
