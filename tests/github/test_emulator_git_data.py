"""The emulated Git Data API writes real git objects: a `git clone` over smart HTTP sees exactly what the
API wrote, and `git push` is seen by the API. Errors are GitHub's (422 for bad ref updates, 404 for
unknown refs and repositories)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import github as gh
import httpx
import pytest

from fluxgate.sandbox.github import RunningEmulator
from tests.github.conftest import READ_ONLY_TOKEN, TOKEN


@pytest.fixture
def api(github: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=github.url, headers={"Authorization": f"token {TOKEN}"}, timeout=30) as client:
        yield client


def client(github: RunningEmulator, token: str = TOKEN) -> gh.Github:
    return gh.Github(auth=gh.Auth.Token(token), base_url=github.url, lazy=True, retry=None,
                     seconds_between_requests=None, seconds_between_writes=None)


def git(cwd: Path, *args: str, token: str | None = TOKEN,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    auth = ["-c", f"http.extraHeader=Authorization: token {token}"] if token else []
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "Dev",
           "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com"}
    return subprocess.run(["git", "-C", str(cwd), *auth, *args], capture_output=True, text=True, env=env,
                          check=check)


def worktree_files(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): p.read_text()
        for p in sorted(path.rglob("*")) if p.is_file() and ".git" not in p.relative_to(path).parts
    }


def head_of(api: httpx.Client, repo: str, branch: str = "main") -> str:
    answer = api.get(f"/repos/{repo}/git/ref/heads/{branch}")
    assert answer.status_code == 200, answer.text
    sha: str = answer.json()["object"]["sha"]
    return sha


def commit_tree(api: httpx.Client, repo: str, entries: list[dict[str, Any]], message: str = "change",
                branch: str = "main") -> dict[str, Any]:
    """One commit on `branch` through the Git Data API, as fluxgate makes them: tree, commit, ref update."""
    parent = head_of(api, repo, branch)
    base_tree = api.get(f"/repos/{repo}/git/commits/{parent}").json()["tree"]["sha"]
    tree = api.post(f"/repos/{repo}/git/trees", json={"base_tree": base_tree, "tree": entries})
    assert tree.status_code == 201, tree.text
    commit = api.post(f"/repos/{repo}/git/commits",
                      json={"message": message, "tree": tree.json()["sha"], "parents": [parent]})
    assert commit.status_code == 201, commit.text
    moved = api.patch(f"/repos/{repo}/git/refs/heads/{branch}", json={"sha": commit.json()["sha"]})
    assert moved.status_code == 200, moved.text
    body: dict[str, Any] = commit.json()
    return body


def blob(path: str, content: str) -> dict[str, Any]:
    return {"path": path, "mode": "100644", "type": "blob", "content": content}


def test_clone_sees_exactly_the_files_the_api_wrote_including_deletions(
    api: httpx.Client, manifests_repo: str, clone: Any
) -> None:
    commit_tree(api, manifests_repo, [
        blob("dev/shop/deployment.yaml", "kind: Deployment\n"),
        blob("dev/shop/service.yaml", "kind: Service\n"),
        blob("prod/shop/deployment.yaml", "kind: Deployment\nreplicas: 3\n"),
        blob("prod/shop/config/app.properties", "a=1\n"),
    ], "add shop")
    commit_tree(api, manifests_repo, [
        {"path": "dev/shop/service.yaml", "mode": "100644", "type": "blob", "sha": None},
        {"path": "prod/shop/config", "mode": "040000", "type": "tree", "sha": None},
        blob("dev/shop/deployment.yaml", "kind: Deployment\nreplicas: 2\n"),
    ], "drop service and prod config")

    path = clone(manifests_repo)

    assert worktree_files(path) == {
        "README.md": "# manifests\n",
        "dev/shop/deployment.yaml": "kind: Deployment\nreplicas: 2\n",
        "prod/shop/deployment.yaml": "kind: Deployment\nreplicas: 3\n",
    }
    assert git(path, "status", "--porcelain").stdout == ""


def test_git_log_and_cat_file_in_a_clone_agree_with_the_api_shas(
    api: httpx.Client, manifests_repo: str, clone: Any
) -> None:
    first = commit_tree(api, manifests_repo, [blob("a/b/c.yaml", "c: 1\n")], "first")
    second = commit_tree(api, manifests_repo, [blob("a/d.yaml", "d: 1\n")], "second\n\nwith a body")

    path = clone(manifests_repo)

    log = git(path, "log", "--format=%H %T %P").stdout.splitlines()
    assert log[0] == f"{second['sha']} {second['tree']['sha']} {first['sha']}"
    assert log[1].startswith(f"{first['sha']} {first['tree']['sha']} ")
    assert len(log) == 3
    assert git(path, "cat-file", "-t", second["sha"]).stdout.strip() == "commit"
    assert git(path, "log", "-1", "--format=%B").stdout.strip() == "second\n\nwith a body"
    api_tree = api.get(f"/repos/{manifests_repo}/git/trees/{second['tree']['sha']}",
                       params={"recursive": "1"}).json()["tree"]
    for entry in api_tree:
        assert git(path, "rev-parse", f"HEAD:{entry['path']}").stdout.strip() == entry["sha"]
    blob_sha = next(e["sha"] for e in api_tree if e["path"] == "a/b/c.yaml")
    assert git(path, "cat-file", "-p", blob_sha).stdout == "c: 1\n"


def test_commit_author_and_committer_are_the_ones_sent(api: httpx.Client, manifests_repo: str,
                                                      clone: Any) -> None:
    parent = head_of(api, manifests_repo)
    tree = api.get(f"/repos/{manifests_repo}/git/commits/{parent}").json()["tree"]["sha"]
    author = {"name": "Ada", "email": "ada@example.com", "date": "2024-05-01T12:00:00Z"}
    made = api.post(f"/repos/{manifests_repo}/git/commits",
                    json={"message": "authored", "tree": tree, "parents": [parent], "author": author})
    assert made.status_code == 201, made.text
    api.patch(f"/repos/{manifests_repo}/git/refs/heads/main", json={"sha": made.json()["sha"]})

    assert made.json()["author"] == author
    assert made.json()["committer"] == author  # GitHub uses the author when no committer is given
    path = clone(manifests_repo)
    assert git(path, "log", "-1", "--format=%an <%ae> %aI | %cn <%ce>").stdout.strip() == (
        "Ada <ada@example.com> 2024-05-01T12:00:00+00:00 | Ada <ada@example.com>"
    )


def test_trees_whose_names_sort_like_directories_pass_git_fsck(
    api: httpx.Client, manifests_repo: str, clone: Any
) -> None:
    names = ["a", "a-b/c.yaml", "a.yaml", "a/b.yaml", "a0", "a_/x", "B.yaml", "tool.sh"]
    entries = [blob(name, f"{name}\n") for name in names if name != "a"]
    entries.append({"path": "tool.sh", "mode": "100755", "type": "blob", "content": "#!/bin/sh\n"})

    commit_tree(api, manifests_repo, entries)

    path = clone(manifests_repo)
    assert git(path, "fsck", "--strict", "--no-dangling").returncode == 0
    assert (path / "a-b" / "c.yaml").read_text() == "a-b/c.yaml\n"
    assert git(path, "ls-files", "-s", "tool.sh").stdout.startswith("100755 ")


def test_a_tree_entry_can_copy_a_whole_directory_by_its_tree_sha(
    api: httpx.Client, manifests_repo: str, clone: Any
) -> None:
    first = commit_tree(api, manifests_repo, [blob("dev/shop/a.yaml", "a\n"),
                                              blob("dev/shop/b/c.yaml", "c\n")])
    tree = api.get(f"/repos/{manifests_repo}/git/trees/{first['tree']['sha']}",
                   params={"recursive": "1"}).json()
    shop = next(e["sha"] for e in tree["tree"] if e["path"] == "dev/shop")

    commit_tree(api, manifests_repo, [{"path": "prod/shop", "mode": "040000", "type": "tree", "sha": shop}])

    files = worktree_files(clone(manifests_repo))
    assert {k: v for k, v in files.items() if k.startswith("prod/")} == {
        "prod/shop/a.yaml": "a\n", "prod/shop/b/c.yaml": "c\n",
    }


def test_an_invalid_ref_name_is_rejected(api: httpx.Client, manifests_repo: str) -> None:
    head = head_of(api, manifests_repo)

    invalid = ("refs/heads/a..b", "refs/heads/with space", "refs/heads/trailing/", "heads/main", "refs/heads")
    for name in invalid:
        answer = api.post(f"/repos/{manifests_repo}/git/refs", json={"ref": name, "sha": head})
        assert (answer.status_code, answer.json()["message"]) == (422, "Reference name is invalid"), name


def test_a_thousand_file_tree_is_written_read_back_and_cloned(
    github: RunningEmulator, manifests_repo: str, clone: Any
) -> None:
    repo = client(github).get_repo(manifests_repo)
    head = repo.get_git_ref("heads/main")
    parent = repo.get_git_commit(head.object.sha)
    files = {f"dev/app-{i // 100}/object-{i:04}.yaml": f"index: {i}\n" for i in range(1000)}
    elements = [gh.InputGitTreeElement(p, "100644", "blob", content=c) for p, c in files.items()]

    tree = repo.create_git_tree(elements, parent.tree)
    commit = repo.create_git_commit("a thousand objects", tree, [parent])
    head.edit(commit.sha)

    listed = repo.get_git_tree(commit.sha, recursive=True).tree
    assert sorted(e.path for e in listed if e.type == "blob") == sorted([*files, "README.md"])
    assert sorted(e.path for e in listed if e.type == "tree") == ["dev", *(f"dev/app-{i}" for i in range(10))]
    assert worktree_files(clone(manifests_repo)) == {**files, "README.md": "# manifests\n"}


def test_tree_listing_is_shallow_unless_recursive(api: httpx.Client, manifests_repo: str) -> None:
    commit = commit_tree(api, manifests_repo, [blob("dev/shop/a.yaml", "a\n"),
                                               blob("tool.sh", "#!/bin/sh\n")])

    shallow = api.get(f"/repos/{manifests_repo}/git/trees/{commit['tree']['sha']}").json()
    deep = api.get(f"/repos/{manifests_repo}/git/trees/main", params={"recursive": "1"}).json()

    assert [(e["path"], e["type"]) for e in shallow["tree"]] == [
        ("README.md", "blob"), ("dev", "tree"), ("tool.sh", "blob")
    ]
    assert {e["path"]: e["mode"] for e in deep["tree"]} == {
        "README.md": "100644", "dev": "040000", "dev/shop": "040000", "dev/shop/a.yaml": "100644",
        "tool.sh": "100644",
    }
    assert deep["sha"] == shallow["sha"] and deep["truncated"] is False
    assert next(e for e in deep["tree"] if e["path"] == "dev/shop/a.yaml")["size"] == 2


def test_deleting_a_path_that_is_not_in_the_base_tree_is_rejected(
    api: httpx.Client, manifests_repo: str
) -> None:
    parent = head_of(api, manifests_repo)
    base_tree = api.get(f"/repos/{manifests_repo}/git/commits/{parent}").json()["tree"]["sha"]

    answer = api.post(f"/repos/{manifests_repo}/git/trees", json={
        "base_tree": base_tree,
        "tree": [{"path": "nope/missing.yaml", "mode": "100644", "type": "blob", "sha": None}],
    })

    assert answer.status_code == 422
    assert "nope/missing.yaml" in answer.json()["message"]


def test_creating_a_ref_that_exists_is_rejected(api: httpx.Client, manifests_repo: str) -> None:
    head = head_of(api, manifests_repo)
    assert api.post(f"/repos/{manifests_repo}/git/refs",
                    json={"ref": "refs/heads/feature", "sha": head}).status_code == 201

    again = api.post(f"/repos/{manifests_repo}/git/refs", json={"ref": "refs/heads/feature", "sha": head})

    assert again.status_code == 422
    assert again.json()["message"] == "Reference already exists"


def test_a_non_fast_forward_update_needs_force(api: httpx.Client, manifests_repo: str, clone: Any) -> None:
    old = head_of(api, manifests_repo)
    new = commit_tree(api, manifests_repo, [blob("x.yaml", "x\n")])["sha"]

    refused = api.patch(f"/repos/{manifests_repo}/git/refs/heads/main", json={"sha": old})
    assert refused.status_code == 422
    assert refused.json()["message"] == "Update is not a fast forward"
    assert head_of(api, manifests_repo) == new

    forced = api.patch(f"/repos/{manifests_repo}/git/refs/heads/main", json={"sha": old, "force": True})
    assert forced.status_code == 200, forced.text
    assert forced.json()["object"]["sha"] == old
    assert git(clone(manifests_repo), "rev-parse", "HEAD").stdout.strip() == old


def test_unknown_refs_are_not_found_and_cannot_be_updated_or_deleted(
    api: httpx.Client, manifests_repo: str
) -> None:
    head = head_of(api, manifests_repo)

    assert api.get(f"/repos/{manifests_repo}/git/ref/heads/nope").status_code == 404
    patched = api.patch(f"/repos/{manifests_repo}/git/refs/heads/nope", json={"sha": head})
    assert (patched.status_code, patched.json()["message"]) == (422, "Reference does not exist")
    deleted = api.delete(f"/repos/{manifests_repo}/git/refs/heads/nope")
    assert (deleted.status_code, deleted.json()["message"]) == (422, "Reference does not exist")
    assert api.get(f"/repos/{manifests_repo}/git/commits/{'0' * 40}").status_code == 404
    assert api.get(f"/repos/{manifests_repo}/git/trees/{'0' * 40}").status_code == 404


def test_a_deleted_branch_is_gone_for_the_api_and_git(github: RunningEmulator, api: httpx.Client,
                                                     manifests_repo: str) -> None:
    repo = client(github).get_repo(manifests_repo)
    created = repo.create_git_ref("refs/heads/fluxgate/dev", repo.get_branch("main").commit.sha)

    created.delete()

    assert api.get(f"/repos/{manifests_repo}/git/ref/heads/fluxgate/dev").status_code == 404
    assert api.get(f"/repos/{manifests_repo}/branches/fluxgate/dev").status_code == 404
    remote = git(Path.cwd(), "ls-remote", f"{github.url}/{manifests_repo}.git").stdout
    assert "refs/heads/main" in remote and "fluxgate/dev" not in remote


def test_compare_reports_ahead_behind_identical_and_diverged(
    github: RunningEmulator, manifests_repo: str
) -> None:
    emulator = github.emulator
    base = emulator.commit_files(manifests_repo, "main", {"base.yaml": "b\n"}, "base", "dev")
    repo = client(github).get_repo(manifests_repo)
    repo.create_git_ref("refs/heads/topic", base)
    assert (repo.compare("main", "topic").status, repo.compare("main", "topic").ahead_by) == ("identical", 0)

    emulator.commit_files(manifests_repo, "topic", {"t1.yaml": "1\n"}, "t1", "dev")
    emulator.commit_files(manifests_repo, "topic", {"t2.yaml": "2\n"}, "t2", "dev")
    ahead = repo.compare("main", "topic")
    assert (ahead.status, ahead.ahead_by, ahead.behind_by, ahead.total_commits) == ("ahead", 2, 0, 2)
    assert [c.commit.message for c in ahead.commits] == ["t1", "t2"]
    assert sorted(f.filename for f in ahead.files) == ["t1.yaml", "t2.yaml"]
    behind = repo.compare("topic", "main")
    assert (behind.status, behind.ahead_by, behind.behind_by) == ("behind", 0, 2)

    emulator.commit_files(manifests_repo, "main", {"m.yaml": "m\n"}, "m", "dev")
    diverged = repo.compare("main", "topic")
    assert (diverged.status, diverged.ahead_by, diverged.behind_by) == ("diverged", 2, 1)
    assert diverged.merge_base_commit.sha == base


def test_git_push_with_a_write_token_is_seen_by_the_api(
    api: httpx.Client, manifests_repo: str, clone: Any
) -> None:
    path = clone(manifests_repo)
    (path / "dev").mkdir()
    (path / "dev" / "pushed.yaml").write_text("pushed: true\n")
    git(path, "add", ".")
    git(path, "commit", "--quiet", "-m", "pushed by git")
    git(path, "push", "--quiet", "origin", "main", "main:refs/heads/pushed")
    local = git(path, "rev-parse", "HEAD").stdout.strip()

    assert head_of(api, manifests_repo) == local
    assert head_of(api, manifests_repo, "pushed") == local
    assert api.get(f"/repos/{manifests_repo}/git/commits/{local}").json()["message"] == "pushed by git\n"
    tree = api.get(f"/repos/{manifests_repo}/git/trees/{local}", params={"recursive": "1"}).json()["tree"]
    assert "dev/pushed.yaml" in {e["path"] for e in tree}


def test_git_push_with_a_read_only_token_is_refused(
    api: httpx.Client, manifests_repo: str, clone: Any
) -> None:
    path = clone(manifests_repo)
    before = head_of(api, manifests_repo)
    git(path, "commit", "--quiet", "--allow-empty", "-m", "not allowed")

    pushed = git(path, "push", "origin", "main", token=READ_ONLY_TOKEN, check=False)

    assert pushed.returncode != 0
    assert "403" in pushed.stderr
    assert head_of(api, manifests_repo) == before
    assert git(path, "fetch", "origin", token=READ_ONLY_TOKEN).returncode == 0  # reading is allowed


def test_git_with_a_wrong_or_missing_token_is_refused(github: RunningEmulator, manifests_repo: str,
                                                     tmp_path: Path) -> None:
    url = f"{github.url}/{manifests_repo}.git"

    for token in ("ghp_wrong", None):
        assert git(tmp_path, "ls-remote", url, token=token, check=False).returncode != 0
        headers = {"Authorization": f"token {token}"} if token else {}
        answer = httpx.get(f"{url}/info/refs?service=git-upload-pack", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Basic")


def test_git_accepts_the_token_as_a_basic_auth_password(github: RunningEmulator, manifests_repo: str,
                                                       tmp_path: Path) -> None:
    url = github.url.replace("http://", f"http://x-access-token:{TOKEN}@") + f"/{manifests_repo}.git"

    as_user = github.url.replace("http://", f"http://{TOKEN}:x-oauth-basic@") + f"/{manifests_repo}.git"

    listed = git(tmp_path, "ls-remote", url, "refs/heads/main", token=None)
    listed_as_user = git(tmp_path, "ls-remote", as_user, "refs/heads/main", token=None)

    assert listed.stdout.split()[1] == "refs/heads/main"
    assert listed_as_user.stdout == listed.stdout  # GitHub also takes the token as the user name


def test_a_protected_branch_refuses_direct_pushes_and_ref_updates(
    github: RunningEmulator, api: httpx.Client, manifests_repo: str, clone: Any
) -> None:
    path = clone(manifests_repo)
    github.emulator.protect_branch(manifests_repo, "main")
    before = head_of(api, manifests_repo)
    git(path, "commit", "--quiet", "--allow-empty", "-m", "straight to main")

    pushed = git(path, "push", "origin", "main", check=False)
    patched = api.patch(f"/repos/{manifests_repo}/git/refs/heads/main",
                        json={"sha": git(path, "rev-parse", "HEAD").stdout.strip()})

    assert pushed.returncode != 0
    assert "Protected branch update failed for refs/heads/main" in pushed.stderr
    assert patched.status_code == 422
    assert head_of(api, manifests_repo) == before
    assert git(path, "push", "--quiet", "origin", "HEAD:refs/heads/side").returncode == 0


def test_unknown_repositories_are_not_found_for_git_and_the_api(
    github: RunningEmulator, api: httpx.Client, tmp_path: Path
) -> None:
    assert api.get("/repos/acme/does-not-exist").status_code == 404
    assert api.get("/repos/acme/does-not-exist/git/ref/heads/main").status_code == 404
    assert api.post("/repos/acme/does-not-exist/git/trees", json={"tree": []}).status_code == 404

    cloned = git(tmp_path, "clone", f"{github.url}/acme/does-not-exist.git", str(tmp_path / "x"), check=False)

    assert cloned.returncode != 0
    assert "404" in cloned.stderr or "not found" in cloned.stderr.lower()
