"""Repositories and the Git Data API: refs, trees, commits, compare (real objects in a bare repo)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from typing import Any

from starlette.routing import Route

from fluxgate.sandbox.github.errors import ApiError, not_found, unprocessable
from fluxgate.sandbox.github.gitrepo import GitRepo, Person
from fluxgate.sandbox.github.http import Call, endpoint
from fluxgate.sandbox.github.payloads import push_payload
from fluxgate.sandbox.github.state import RepoRecord, now

__all__ = ["move_ref", "routes"]

_SHA = re.compile(r"^[0-9a-f]{40}$")


def move_ref(call: Call, record: RepoRecord, git: GitRepo, name: str, sha: str | None, *,
             force: bool = False, merging: bool = False) -> None:
    """Create, move or delete a ref the way GitHub does, then tell hooks (push) and open PRs."""
    from fluxgate.sandbox.github.api_pulls import on_head_moved

    old = git.ref(name)
    branch = name.removeprefix("refs/heads/")
    if name.startswith("refs/heads/") and branch in record.protected and not merging:
        raise ApiError(422, f"Protected branch update failed for {name}.")
    if sha is None:
        if old is None:
            raise unprocessable("Reference does not exist")
        git.delete_ref(name)
    else:
        if git.object_type(sha) != "commit":
            raise unprocessable("Object does not exist")
        if old is not None and not force and not git.is_ancestor(old, sha):
            raise unprocessable("Update is not a fast forward")
        try:
            git.set_ref(name, sha, old)
        except subprocess.CalledProcessError as exc:
            raise ApiError(409, "Reference update failed") from exc
    record.pushed_at = now()
    if old != sha:
        forced = old is not None and sha is not None and not git.is_ancestor(old, sha)
        payload = push_payload(call.emulator, record, name, old, sha, call.actor, forced)
        call.emulator.emit(record, "push", payload)
        if name.startswith("refs/heads/"):
            on_head_moved(call.emulator, call.actor, record, branch, sha)


def _person(value: Any, fallback: str) -> Person:
    """An author or committer as sent (name, email, optional ISO 8601 `date`); `fallback` when not sent."""
    if isinstance(value, dict) and value.get("name") and value.get("email"):
        date = value.get("date")
        stamp = now()
        if date is not None:
            try:
                stamp = int(datetime.fromisoformat(str(date).replace("Z", "+00:00")).timestamp())
            except ValueError:
                message = f"Invalid request.\n\n{json.dumps(date)} is not a valid date-time."
                raise unprocessable(message) from None
        return Person(str(value["name"]), str(value["email"]), stamp)
    return Person(fallback, f"{fallback}@users.noreply.github.com", now())


def get_repo(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    return 200, call.urls.repository(record, call.emulator.user(record.owner), full=True)


def get_branch(call: Call) -> tuple[int, Any]:
    record, git = call.repo()
    branch = call.params["branch"]
    sha = git.ref(f"refs/heads/{branch}")
    if sha is None:
        raise ApiError(404, "Branch not found")
    url = f"{call.urls.repo_url(record)}/branches/{branch}"
    return 200, {
        "name": branch,
        "commit": call.urls.commit(record, git.read_commit(sha), call.emulator.user(record.owner)),
        "_links": {"self": url, "html": f"{call.urls.web}/{record.full_name}/tree/{branch}"},
        "protected": branch in record.protected, "protection": {"enabled": branch in record.protected},
        "protection_url": f"{url}/protection",
    }


def get_ref(call: Call) -> tuple[int, Any]:
    record, git = call.repo()
    name = "refs/" + call.params["ref"]
    sha = git.ref(name)
    if sha is None:
        raise not_found()
    return 200, call.urls.git_ref(record, name, sha)


def create_ref(call: Call) -> tuple[int, Any]:
    record, git = call.writing()
    name, sha = call.field("ref", str), call.field("sha", str)
    if not name.startswith("refs/") or name.count("/") < 2 or not git.valid_ref_name(name):
        raise unprocessable("Reference name is invalid")
    if git.ref(name) is not None:
        raise unprocessable("Reference already exists")
    move_ref(call, record, git, name, sha)
    return 201, call.urls.git_ref(record, name, sha)


def update_ref(call: Call) -> tuple[int, Any]:
    record, git = call.writing()
    name = "refs/" + call.params["ref"]
    if git.ref(name) is None:
        raise unprocessable("Reference does not exist")
    sha = call.field("sha", str)
    move_ref(call, record, git, name, sha, force=bool(call.field("force", bool, False)))
    return 200, call.urls.git_ref(record, name, sha)


def delete_ref(call: Call) -> tuple[int, Any]:
    record, git = call.writing()
    move_ref(call, record, git, "refs/" + call.params["ref"], None)
    return 204, None


def create_tree(call: Call) -> tuple[int, Any]:
    record, git = call.writing()
    base = call.field("base_tree", str, None)
    entries = call.field("tree", list)
    if base is not None and git.object_type(base) != "tree":
        raise unprocessable("base_tree is not a valid tree oid", resource="Tree", field="base_tree",
                            code="invalid")
    files = git.files(base) if base else {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise unprocessable(f"tree.{index}.path is missing")
        path, mode = entry["path"].strip("/"), str(entry.get("mode", "100644"))
        if "sha" in entry and entry["sha"] is None:
            doomed = [p for p in files if p == path or p.startswith(path + "/")]
            if not doomed:
                raise unprocessable(f"tree.path contains a path that does not exist in the base tree: {path}")
            for p in doomed:
                del files[p]
            continue
        kind, sha = entry.get("type", "blob"), entry.get("sha")
        for p in [p for p in files if p.startswith(path + "/")]:
            del files[p]
        if kind == "tree" and "content" not in entry:  # a whole directory, by its tree's sha
            if not isinstance(sha, str) or git.object_type(sha) != "tree":
                raise unprocessable(f"tree.sha {sha} is not a valid tree")
            files.pop(path, None)
            files.update({f"{path}/{sub}": found for sub, found in git.files(sha).items()})
            continue
        if kind == "commit" and mode == "160000" and isinstance(sha, str) and _SHA.match(sha):
            files[path] = (mode, sha)  # a submodule: the commit lives in another repository
            continue
        if kind != "blob" or mode not in ("100644", "100755", "120000"):
            raise unprocessable(f"tree.{index}: type {kind} with mode {mode} is not a valid tree entry")
        if "content" in entry:
            files[path] = (mode, git.write_blob(str(entry["content"]).encode()))
        elif isinstance(sha, str) and git.object_type(sha) == "blob":
            files[path] = (mode, sha)
        else:
            raise unprocessable(f"tree.sha {sha} is not a valid blob")
    sha = git.write_tree(files) if files else git.empty_tree()
    return 201, call.urls.git_tree(record, sha, git.list_tree(sha, recursive=False))


def get_tree(call: Call) -> tuple[int, Any]:
    record, git = call.repo()
    sha = call.params["tree_sha"]
    resolved = sha if git.object_type(sha) == "tree" else None
    if resolved is None:
        commit = git.resolve(sha)
        resolved = git.read_commit(commit).tree if commit else None
    if resolved is None:
        raise not_found()
    recursive = call.query.get("recursive") not in (None, "", "0", "false")
    return 200, call.urls.git_tree(record, resolved, git.list_tree(resolved, recursive))


def create_commit(call: Call) -> tuple[int, Any]:
    record, git = call.writing()
    tree, parents = call.field("tree", str), call.field("parents", list, [])
    if git.object_type(tree) != "tree":
        raise unprocessable("Tree SHA does not exist")
    for parent in parents:
        if not isinstance(parent, str) or git.object_type(parent) != "commit":
            raise unprocessable("Parent SHA does not exist or is not a commit object")
    author = _person(call.field("author", dict, None), call.actor)
    sent_committer = call.field("committer", dict, None)
    committer = _person(sent_committer, call.actor) if sent_committer else author  # GitHub: the author
    sha = git.write_commit(tree, parents, call.field("message", str), author, committer)
    return 201, call.urls.git_commit(record, git.read_commit(sha))


def get_commit(call: Call) -> tuple[int, Any]:
    record, git = call.repo()
    sha = call.params["commit_sha"]
    if not _SHA.match(sha) or git.object_type(sha) != "commit":
        raise not_found()
    return 200, call.urls.git_commit(record, git.read_commit(sha))


def compare(call: Call) -> tuple[int, Any]:
    record, git = call.repo()
    base_name, sep, head_name = call.params["basehead"].partition("...")
    base, head = git.resolve(base_name), git.resolve(head_name)
    if not sep or base is None or head is None:
        raise not_found()
    merge_base = git.merge_base(base, head)
    ahead = git.commits_between(base, head)
    behind = git.commits_between(head, base)
    status = "identical" if base == head else "ahead" if not behind else "behind" if not ahead else "diverged"
    owner = call.emulator.user(record.owner)
    url = call.urls.repo_url(record)
    html = f"{call.urls.web}/{record.full_name}/compare/{base_name}...{head_name}"
    files = [
        {"sha": new, "filename": path, "status": {"A": "added", "D": "removed"}.get(kind, "modified"),
         "additions": 0, "deletions": 0, "changes": 0,
         "blob_url": f"{call.urls.web}/{record.full_name}/blob/{head}/{path}",
         "raw_url": f"{call.urls.web}/{record.full_name}/raw/{head}/{path}",
         "contents_url": f"{url}/contents/{path}?ref={head}"}
        for kind, path, _old, new in (git.diff_files(merge_base, head) if merge_base else [])
    ]
    return 200, {
        "url": f"{url}/compare/{base_name}...{head_name}", "html_url": html, "permalink_url": html,
        "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
        "base_commit": call.urls.commit(record, git.read_commit(base), owner),
        "merge_base_commit": call.urls.commit(record, git.read_commit(merge_base or base), owner),
        "status": status, "ahead_by": len(ahead), "behind_by": len(behind), "total_commits": len(ahead),
        "commits": [call.urls.commit(record, git.read_commit(sha), owner) for sha in ahead[-250:]],
        "files": files[:300],
    }


R = "/repos/{owner}/{repo}"
routes = [
    Route(R, endpoint(get_repo), methods=["GET"]),
    Route(R + "/branches/{branch:path}", endpoint(get_branch), methods=["GET"]),
    Route(R + "/git/ref/{ref:path}", endpoint(get_ref), methods=["GET"]),
    Route(R + "/git/refs", endpoint(create_ref), methods=["POST"]),
    Route(R + "/git/refs/{ref:path}", endpoint(update_ref), methods=["PATCH"]),
    Route(R + "/git/refs/{ref:path}", endpoint(delete_ref), methods=["DELETE"]),
    Route(R + "/git/trees", endpoint(create_tree), methods=["POST"]),
    Route(R + "/git/trees/{tree_sha}", endpoint(get_tree), methods=["GET"]),
    Route(R + "/git/commits", endpoint(create_commit), methods=["POST"]),
    Route(R + "/git/commits/{commit_sha}", endpoint(get_commit), methods=["GET"]),
    Route(R + "/compare/{basehead:path}", endpoint(compare), methods=["GET"]),
]
