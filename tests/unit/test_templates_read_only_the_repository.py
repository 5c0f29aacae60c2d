"""Templates read the repository they live in and nothing else: now that a stage renders whatever a
commit of the code repository says, a jsonnet `importstr '/proc/self/environ'` must not copy the
worker's environment (its GitHub token) into a manifests PR. A shared library elsewhere in the same
repository (a monorepo) stays importable."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from projects import render, write_project

from fluxgate.errors import TemplateError

JSONNET = {"templates": {"engine": "jsonnet", "path": "deploy/main.jsonnet", "library_paths": ["deploy/lib"]}}


def _main(expression: str) -> str:
    return (
        "{web: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'web'}, "
        f"data: {{LEAK: {expression}}}}}}}\n"
    )


@pytest.mark.parametrize(
    "expression",
    [
        "importstr '/proc/self/environ'",
        "importstr '../../../../../../../../etc/hostname'",
        "importstr 'lib/outside/hostname'",  # a symlink in the repository pointing out of it
    ],
)
def test_an_import_outside_the_repository_is_refused_in_one_line(tmp_path: Path, expression: str) -> None:
    project = tmp_path / "repo"
    files = {"deploy/main.jsonnet": _main(expression), "deploy/lib/x.libsonnet": "{}\n"}
    write_project(project, files, JSONNET)
    (project / "deploy" / "lib" / "outside").symlink_to("/etc")
    with pytest.raises(TemplateError) as caught:
        render(project)
    message = str(caught.value)
    assert message.startswith("deploy/main.jsonnet:1:")
    assert "is outside the repository: templates read only its files" in message
    assert "\n" not in message and "PATH=" not in message


def test_a_shared_library_elsewhere_in_the_same_repository_is_imported(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    app = repo / "apps" / "shop"
    write_project(app, {"deploy/main.jsonnet": _main("(import '../../../shared/greeting.libsonnet').text"),
                        "deploy/lib/x.libsonnet": "{}\n"}, JSONNET)  # fmt: skip
    (repo / "shared").mkdir()
    (repo / "shared" / "greeting.libsonnet").write_text("{text: 'hello'}\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    files = render(app).files()
    assert any("LEAK: hello" in text for text in files.values()), files
