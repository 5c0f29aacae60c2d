"""The template digest names the templates' content: the same on every machine, new on every edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import git
import pytest

from fluxgate.ci import check_templates, compute_release, detect_changes, template_digest
from fluxgate.errors import ConfigError, TemplateError
from tests.ci.conftest import CodeRepo


def test_two_checkouts_of_one_commit_have_the_same_digest(code_repo: CodeRepo, tmp_path: Path) -> None:
    git.Repo.clone_from(code_repo.path, tmp_path / "elsewhere/clone").close()
    clone = CodeRepo(tmp_path / "elsewhere/clone")

    digest = template_digest(code_repo.config)

    assert digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
    assert template_digest(clone.config) == digest


def test_a_template_edit_changes_the_digest(code_repo: CodeRepo) -> None:
    before = template_digest(code_repo.config)
    code_repo.commit({"deploy/images.yaml": (code_repo.root / "deploy/images.yaml").read_text() + "# note\n"})

    assert template_digest(code_repo.config) != before


def test_a_new_or_renamed_library_file_changes_the_digest(code_repo: CodeRepo) -> None:
    before = template_digest(code_repo.config)
    code_repo.rename("lib/labels.libsonnet", "lib/labels2.libsonnet")
    renamed = template_digest(code_repo.config)
    code_repo.commit({"lib/more.libsonnet": "{}\n"})

    assert len({before, renamed, template_digest(code_repo.config)}) == 3


def test_source_and_config_edits_leave_the_digest_alone(code_repo: CodeRepo) -> None:
    before = template_digest(code_repo.config)
    code_repo.commit({"services/web/app.py": "print('web 2')\n", "README.md": "# changed\n"})

    assert template_digest(code_repo.config) == before


def test_the_release_carries_the_digest(code_repo: CodeRepo, first: str) -> None:
    ci = compute_release(code_repo.config, detect_changes(code_repo.config, first))

    assert ci.digest == template_digest(code_repo.config)


def test_a_missing_template_path_is_one_line(code_repo: CodeRepo) -> None:
    shutil.rmtree(code_repo.root / "lib")

    with pytest.raises(ConfigError, match=r"^fluxgate\.yaml: template path 'lib' not found in "):
        template_digest(code_repo.config)


def test_every_environment_renders_the_release_before_anything_is_built(
    code_repo: CodeRepo, first: str
) -> None:
    ci = compute_release(code_repo.config, detect_changes(code_repo.config, first))

    assert check_templates(code_repo.config, ci.release) == {"dev": 1}


def test_a_broken_template_fails_ci(code_repo: CodeRepo, first: str) -> None:
    code_repo.commit({"deploy/images.yaml": "kind: ConfigMap\nmetadata:\n  name: ${nope}\n"})
    ci = compute_release(code_repo.config, detect_changes(code_repo.config, first))

    with pytest.raises(TemplateError) as caught:
        check_templates(code_repo.config, ci.release)
    assert "nope" in str(caught.value)
    assert "\n" not in str(caught.value)
