"""A hand edit of an environment's folder since fluxgate's last merge shows in the next PR's summary.

fluxgate writes a ledger, `<folder>/.fluxgate-files` (the git blob id of every file it wrote), and the
next promotion compares it with the blob ids of its base commit: what differs was changed by hand.
Nothing that reads the folder as manifests (the change summary, the simulated Flux) reads the ledger.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fluxgate.sandbox.flux.source import GitSource
from fluxgate.summary import (
    LEDGER_NAME,
    ChangeSummary,
    blob_id,
    drifted,
    ledger,
    read_directory,
    read_git_ref,
    read_text_at,
    summarize,
    to_markdown,
)
from fluxgate.summary.drift import LEDGER_HEADER

WEB = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
SVC = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\n"
FILES = {
    "dev/shop/deployment-web.yaml": WEB,
    "dev/shop/service-web.yaml": SVC,
    "dev/namespace-shop.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
    "devx/other.yaml": "not: dev\n",  # a sibling folder sharing the prefix is not dev's
    "prod/shop/deployment-web.yaml": WEB,
    "hld/dev/release.yaml": "version: 1\n",
}


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=True)
    return done.stdout.decode().strip()


def _hash_object(data: bytes, cwd: Path) -> str:
    return _git(cwd, "hash-object", "--stdin", stdin=data)


def _blobs(files: dict[str, str]) -> dict[str, str]:
    return {path: blob_id(text) for path, text in files.items()}


def test_the_ledger_lists_exactly_the_folders_files_by_their_git_blob_id(tmp_path: Path) -> None:
    path, text = ledger("dev", {**FILES, "dev/.fluxgate-files": "an old ledger\n"})
    assert path == "dev/.fluxgate-files"
    lines = text.splitlines()
    assert (
        lines[0]
        == LEDGER_HEADER
        == (
            "# fluxgate: the files of this folder as fluxgate last wrote them; a file changed by hand shows "
            "as drift in the next pull request"
        )
    )
    assert [line.split("  ", 1)[1] for line in lines[1:]] == [
        "namespace-shop.yaml",
        "shop/deployment-web.yaml",
        "shop/service-web.yaml",
    ]
    for line in lines[1:]:
        sha, relative = line.split("  ", 1)
        assert sha == _hash_object(FILES[f"dev/{relative}"].encode(), tmp_path)
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_blob_ids_are_gits_for_any_text(tmp_path: Path) -> None:
    for text in ("", "a\n", "no newline", "é ünïcode ✓\n", "x" * 70_000):
        assert blob_id(text) == _hash_object(text.encode(), tmp_path)


def test_a_folder_as_fluxgate_wrote_it_has_no_drift() -> None:
    _path, text = ledger("dev", FILES)
    assert drifted("dev", _blobs(FILES), text) == []


def test_changed_added_and_removed_files_are_listed_sorted_and_marked() -> None:
    _path, text = ledger("dev", FILES)
    base = _blobs(FILES)
    base["dev/shop/service-web.yaml"] = blob_id(SVC + "  labels: {by: hand}\n")  # edited by hand
    base["dev/shop/configmap-extra.yaml"] = blob_id("kind: ConfigMap\n")  # added by hand
    del base["dev/namespace-shop.yaml"]  # removed by hand
    base["prod/shop/deployment-web.yaml"] = blob_id("other environments are not dev's drift\n")
    base["devx/other.yaml"] = blob_id("nor is a sibling folder\n")
    base["dev/.fluxgate-files"] = blob_id(text)  # the ledger itself is no drift
    assert drifted("dev", base, text) == [
        "dev/namespace-shop.yaml (removed)",
        "dev/shop/configmap-extra.yaml (added)",
        "dev/shop/service-web.yaml (changed)",
    ]


def test_without_a_ledger_nothing_is_reported() -> None:
    """A folder fluxgate never wrote, or wrote before it kept a ledger: nothing says what it wrote."""
    assert drifted("dev", {"dev/shop/deployment-web.yaml": blob_id("by hand\n")}, None) == []


def test_malformed_ledger_lines_are_skipped_never_a_crash() -> None:
    good = blob_id(WEB)
    text = "\n".join(
        [
            LEDGER_HEADER,
            "",
            "garbage",
            f"{good} shop/one-space.yaml",
            f"{good[:39]}  shop/short-sha.yaml",
            f"{good.upper()}  shop/upper-case.yaml",
            f"{good}  ",
            f"{good}  ../prod/escape.yaml",
            f"{good}  /absolute.yaml",
            f"{good}  .fluxgate-files",
            "\x00\udcff  weird",
            f"{good}  shop/deployment-web.yaml",
        ]
    )
    assert drifted("dev", {"dev/shop/deployment-web.yaml": good}, text) == []
    assert drifted("dev", {}, text) == ["dev/shop/deployment-web.yaml (removed)"]
    assert drifted("dev", {}, "\x00 not a ledger at all \x00\n\n") == []


def test_a_folder_at_the_repository_root_works_too() -> None:
    files = {"a.yaml": "a: 1\n", "sub/b.yaml": "b: 1\n"}
    path, text = ledger(".", files)
    assert path == LEDGER_NAME
    base = {**_blobs(files), "c.yaml": blob_id("c\n"), LEDGER_NAME: blob_id(text)}
    assert drifted(".", base, text) == ["c.yaml (added)"]


def _summary(drift: list[str]) -> ChangeSummary:
    old = {
        "dev/shop/deployment-web.yaml": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "data": {"a": "1"},
            "metadata": {"name": "web", "namespace": "shop"},
        }
    }
    new = {"dev/shop/deployment-web.yaml": {**old["dev/shop/deployment-web.yaml"], "data": {"a": "2"}}}
    summary = summarize("dev", "shop@1.1.0", new, old)
    summary.drift, summary.folder = drift, "dev"
    return summary


def test_the_markdown_warns_at_the_top_and_lists_each_file() -> None:
    drift = ["dev/shop/configmap-extra.yaml (added)", "dev/shop/service-web.yaml (changed)"]
    text = to_markdown(_summary(drift))
    assert text.startswith(
        "> [!WARNING]\n"
        "> 2 files in dev/ were changed by hand since fluxgate last merged here; "
        "this pull request replaces them:\n"
        "> - `dev/shop/configmap-extra.yaml` (added)\n"
        "> - `dev/shop/service-web.yaml` (changed)\n"
        "\n"
        "### shop@1.1.0 → dev\n"
    )
    one = to_markdown(_summary(["dev/namespace-shop.yaml (removed)"]))
    assert (
        "> 1 file in dev/ was changed by hand since fluxgate last merged here; this pull request "
        "replaces it:\n> - `dev/namespace-shop.yaml` (removed)\n" in one
    )


def test_without_drift_the_markdown_is_as_before() -> None:
    summary = _summary([])
    text = to_markdown(summary)
    assert text.startswith("### shop@1.1.0 → dev\n\n**0 added, 1 changed, 0 removed, 0 unchanged**\n")
    assert "WARNING" not in text
    assert not summary.empty


def test_drift_alone_leaves_the_summary_empty() -> None:
    """Only objects decide whether there is a PR: a comment edited by hand changes no object."""
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    summary = summarize("dev", "shop@1", {"dev/a.yaml": obj}, {"dev/a.yaml": obj})
    summary.drift = ["dev/a.yaml (changed)"]
    assert summary.empty


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """A git repository whose `dev/` holds a manifest and a ledger; (its folder, its commit)."""
    root = tmp_path / "manifests"
    (root / "dev").mkdir(parents=True)
    (root / "dev" / "deployment-web.yaml").write_text(WEB)
    _path, text = ledger("dev", {"dev/deployment-web.yaml": WEB})
    (root / "dev" / LEDGER_NAME).write_text(text)
    _git(root, "init", "--quiet", "--initial-branch=main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "seed")
    return root, _git(root, "rev-parse", "HEAD")


def test_the_change_summary_reads_no_ledger_as_a_manifest(repo: tuple[Path, str]) -> None:
    root, commit = repo
    assert list(read_directory(root, "dev")) == ["dev/deployment-web.yaml"]
    assert list(read_git_ref(root, commit, "dev")) == ["dev/deployment-web.yaml"]


def test_the_ledger_is_read_back_from_git_as_written(repo: tuple[Path, str]) -> None:
    root, commit = repo
    _path, text = ledger("dev", {"dev/deployment-web.yaml": WEB})
    assert read_text_at(root, commit, "dev/.fluxgate-files") == text
    assert read_text_at(root, commit, "prod/.fluxgate-files") is None
    assert read_text_at(root, commit, "dev") is None  # a folder is no file


def test_the_simulated_flux_applies_no_ledger(repo: tuple[Path, str]) -> None:
    """Like kustomize-controller's generated kustomization, it takes *.yaml / *.yml files only."""
    root, commit = repo
    source = GitSource(str(root), "main", "", root / ".git")
    assert list(source.files(commit, "dev") or {}) == ["dev/deployment-web.yaml"]
