"""Writing a render replaces the environment's folders whole, or changes nothing at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import EXAMPLES, render

from fluxgate.errors import PermanentError
from fluxgate.render import RenderResult, write_tree

SHOP_IMAGES = ["web=1.4.2", "worker=1.4.2"]


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under `root`."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
    }


def staging_leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".fluxgate-"))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A manifests checkout with an earlier dev render, another environment and a README."""
    root = tmp_path / "out"
    (root / "dev" / "shop").mkdir(parents=True)
    (root / "dev" / "shop" / "deployment-old.yaml").write_text("old: true\n")
    (root / "prod").mkdir()
    (root / "prod" / "deployment-web.yaml").write_text("prod: true\n")
    (root / "README.md").write_text("# manifests\n")
    return root


def test_files_are_written_with_exact_bytes(tmp_path: Path) -> None:
    root = tmp_path / "new"

    write_tree(root, {"dev/shop/a.yaml": "a: 1\n", "dev/_cluster/ns.yaml": "é: ü\n"}, ["dev"])

    assert snapshot(root) == {
        "dev": None,
        "dev/_cluster": None,
        "dev/_cluster/ns.yaml": "é: ü\n".encode(),
        "dev/shop": None,
        "dev/shop/a.yaml": b"a: 1\n",
    }


def test_the_owned_folder_is_replaced_whole_and_the_rest_left_alone(out: Path) -> None:
    write_tree(out, {"dev/shop/deployment-web.yaml": "new: true\n"}, ["dev"])

    assert snapshot(out) == {
        "README.md": b"# manifests\n",
        "dev": None,
        "dev/shop": None,
        "dev/shop/deployment-web.yaml": b"new: true\n",
        "prod": None,
        "prod/deployment-web.yaml": b"prod: true\n",
    }
    assert staging_leftovers(out) == []


def test_an_owned_folder_with_no_files_is_emptied(out: Path) -> None:
    write_tree(out, {}, ["dev"])

    assert snapshot(out)["dev"] is None
    assert not any(name.startswith("dev/") for name in snapshot(out))


@pytest.mark.parametrize(
    ("files", "folders"),
    [
        pytest.param({"dev/a": "x", "dev/a/b.yaml": "y"}, ["dev"], id="file-where-a-folder-is-needed"),
        pytest.param({"dev/x.yaml": "x", "../escape.yaml": "x"}, ["dev"], id="file-outside-the-output"),
        pytest.param({"/etc/x.yaml": "x"}, ["dev"], id="absolute-file"),
        pytest.param({"dev/x.yaml": "x"}, ["../dev"], id="folder-outside-the-output"),
        pytest.param({"dev/x.yaml": "x"}, ["."], id="the-whole-output-folder"),
    ],
)
def test_a_failure_leaves_the_destination_unchanged(
    out: Path, files: dict[str, str], folders: list[str]
) -> None:
    before = snapshot(out)

    with pytest.raises(PermanentError):
        write_tree(out, files, folders)

    assert snapshot(out) == before
    assert staging_leftovers(out) == []
    assert not (out.parent / "escape.yaml").exists()


def test_refusing_a_path_names_it(out: Path) -> None:
    with pytest.raises(PermanentError) as caught:
        write_tree(out, {"../x": "x"}, ["dev"])

    assert str(caught.value) == "refusing to write '../x': not a path inside the output folder"


def test_a_folder_blocked_by_a_file_fails_without_changes(out: Path) -> None:
    (out / "hld").write_text("a file, not a folder\n")
    before = snapshot(out)

    with pytest.raises(PermanentError, match="cannot write"):
        write_tree(out, {"hld/dev/release.yaml": "r: 1\n"}, ["hld/dev"])

    assert snapshot(out) == before
    assert staging_leftovers(out) == []


def test_an_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("not a folder\n")

    with pytest.raises(PermanentError, match="cannot write"):
        write_tree(target, {"dev/x.yaml": "x"}, ["dev"])

    assert target.read_text() == "not a folder\n"


def shop(env: str) -> RenderResult:
    return render(EXAMPLES / "shop", env, SHOP_IMAGES)


def test_rendering_the_shop_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"

    for root in (first, second):
        for env in ("dev", "staging", "prod"):
            result = shop(env)
            write_tree(root, result.files(), result.folders())

    assert snapshot(first) == snapshot(second)
    assert sorted(p for p in snapshot(first) if "/" not in p) == ["dev", "hld", "prod", "staging"]
    assert len([p for p, data in snapshot(first).items() if data is not None]) == 33  # 3 x (10 objects + hld)


def test_each_environment_owns_only_its_folders(tmp_path: Path) -> None:
    root = tmp_path / "out"
    dev, prod = shop("dev"), shop("prod")

    write_tree(root, dev.files(), dev.folders())
    write_tree(root, prod.files(), prod.folders())

    written = {p: data for p, data in snapshot(root).items() if data is not None}
    assert written == {path: text.encode() for path, text in {**dev.files(), **prod.files()}.items()}
    assert sorted(dev.folders()) == ["dev", "hld/dev"]


def test_a_failure_in_a_later_folder_leaves_earlier_folders_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "out"
    (root / "dev" / "shop-dev").mkdir(parents=True)
    (root / "dev" / "shop-dev" / "deployment-shop-web.yaml").write_text("the running release\n")
    (root / "hld").write_text("a file where the hld folder is needed\n")
    before = snapshot(root)
    result = shop("dev")

    with pytest.raises(PermanentError):
        write_tree(root, result.files(), result.folders())  # swaps `dev`, then fails on `hld/dev`

    assert snapshot(root) == before


def test_a_file_outside_the_owned_folders_is_written_or_refused(tmp_path: Path) -> None:
    root = tmp_path / "out"
    try:
        write_tree(root, {"dev/x.yaml": "x: 1\n", "NOTES.md": "notes\n"}, ["dev"])
    except PermanentError:
        assert not root.exists() or snapshot(root) == {}
        return

    notes = root / "NOTES.md"
    assert notes.is_file()
    assert notes.read_text() == "notes\n"


def test_nested_owned_folders_keep_their_files(tmp_path: Path) -> None:
    root = tmp_path / "out"

    write_tree(root, {"dev/ns/a.yaml": "a\n", "dev/dev/release.yaml": "r\n"}, ["dev", "dev/dev"])

    release = root / "dev" / "dev" / "release.yaml"
    assert release.is_file()
    assert release.read_text() == "r\n"
