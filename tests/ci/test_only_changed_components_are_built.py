"""A push rebuilds the components whose source or Dockerfile it touched, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgate.ci import compute_release, detect_changes
from fluxgate.errors import CiError, FluxgateError
from tests.ci.conftest import CodeRepo, make_repo

PREVIOUS = {
    "web": "ghcr.io/acme/web:1111111",
    "api": "ghcr.io/acme/api:1111111",
    "worker": "ghcr.io/acme/worker:1111111",
}


def test_the_first_build_builds_every_component(code_repo: CodeRepo, first: str) -> None:
    changes = detect_changes(code_repo.config, first, None)

    assert changes.first_build
    assert changes.head == first
    assert changes.changed == ["api", "web", "worker"]
    assert changes.components["worker"].files == ["docker/worker.Dockerfile", "services/worker/job.py"]
    assert changes.components["api"].files == [
        "libs/common/util.py",
        "services/api/Dockerfile",
        "services/api/main.py",
    ]


def test_a_source_change_rebuilds_only_its_component(code_repo: CodeRepo, first: str) -> None:
    head = code_repo.commit({"services/web/app.py": "print('web 2')\n"})

    changes = detect_changes(code_repo.config, head, first)

    assert changes.changed == ["web"]
    assert changes.components["web"].files == ["services/web/app.py"]
    assert changes.components["api"].files == []
    assert compute_release(code_repo.config, changes, PREVIOUS).built == ["web"]


def test_a_dockerfile_outside_the_sources_counts_for_its_component(code_repo: CodeRepo, first: str) -> None:
    head = code_repo.commit({"docker/worker.Dockerfile": "FROM scratch\nCOPY job.py /bin/job.py\n"})

    assert detect_changes(code_repo.config, head, first).changed == ["worker"]


def test_a_second_source_path_counts_like_the_first(code_repo: CodeRepo, first: str) -> None:
    head = code_repo.commit({"libs/common/util.py": "VALUE = 2\n"})

    assert detect_changes(code_repo.config, head, first).changed == ["api"]


def test_files_outside_every_component_rebuild_nothing(code_repo: CodeRepo, first: str) -> None:
    head = code_repo.commit({"README.md": "# shop, v2\n", "shared/notes.txt": "still shared\n"})

    changes = detect_changes(code_repo.config, head, first)

    assert changes.changed == []
    assert all(not c.files for c in changes.components.values())
    assert compute_release(code_repo.config, changes, PREVIOUS).built == []


def test_every_commit_since_the_base_counts(code_repo: CodeRepo, first: str) -> None:
    second = code_repo.commit({"services/web/app.py": "print('web 2')\n"})
    third = code_repo.commit({"README.md": "# docs\n"})
    fourth = code_repo.commit({"services/api/main.py": "print('api 2')\n"})

    assert detect_changes(code_repo.config, fourth, first).changed == ["api", "web"]
    assert detect_changes(code_repo.config, fourth, second).changed == ["api"]
    assert detect_changes(code_repo.config, third, second).changed == []


def test_a_change_reverted_before_the_build_rebuilds_nothing(code_repo: CodeRepo, first: str) -> None:
    code_repo.commit({"services/web/app.py": "print('oops')\n"})
    head = code_repo.commit({"services/web/app.py": "print('web')\n"})

    assert detect_changes(code_repo.config, head, first).changed == []


def test_moving_or_deleting_a_file_changes_the_component_it_left(code_repo: CodeRepo, first: str) -> None:
    moved = code_repo.rename("services/web/app.py", "shared/app.py")
    deleted = code_repo.commit({"services/worker/job.py": None})

    changes = detect_changes(code_repo.config, moved, first)
    assert changes.changed == ["web"]
    assert changes.components["web"].files == ["services/web/app.py"]
    assert detect_changes(code_repo.config, deleted, moved).changed == ["worker"]


def test_uncommitted_files_do_not_count(code_repo: CodeRepo, first: str) -> None:
    (code_repo.root / "services/web/app.py").write_text("print('local edit')\n")

    assert detect_changes(code_repo.config, "HEAD", first).changed == []


def test_paths_are_relative_to_the_config_folder_in_a_monorepo(tmp_path: Path) -> None:
    code, first = make_repo(tmp_path / "mono", prefix="apps/shop")
    head = code.commit({"../other/services/web/app.py": "print('another app')\n"})
    assert detect_changes(code.config, head, first).changed == []

    head2 = code.commit({"services/web/app.py": "print('web 2')\n"})
    changes = detect_changes(code.config, head2, head)
    assert changes.changed == ["web"]
    assert changes.components["web"].files == ["apps/shop/services/web/app.py"]


def test_an_unknown_base_commit_is_one_line_naming_it(code_repo: CodeRepo) -> None:
    unknown = "0123456789abcdef0123456789abcdef01234567"

    with pytest.raises(CiError) as caught:
        detect_changes(code_repo.config, "HEAD", unknown)

    message = str(caught.value)
    assert isinstance(caught.value, FluxgateError)
    assert unknown in message
    assert message.startswith("base commit")
    assert "\n" not in message


@pytest.mark.parametrize("head", ["deadbee", "no-such-branch"])
def test_an_unknown_head_is_one_line_naming_it(code_repo: CodeRepo, head: str) -> None:
    with pytest.raises(CiError, match=f"^head commit '{head}' is not in the history of ") as caught:
        detect_changes(code_repo.config, head, None)
    assert "\n" not in str(caught.value)


def test_a_config_outside_any_repository_is_one_line(tmp_path: Path, code_repo: CodeRepo) -> None:
    with pytest.raises(CiError, match="is not in a git repository"):
        detect_changes(code_repo.config, "HEAD", repo_dir=tmp_path / "elsewhere")
