"""Someone edits an environment's manifests by hand after fluxgate's PR merged: the next stage's PR
says so at the top of its body, naming the file, before the reviewer approves overwriting it."""

from __future__ import annotations

import subprocess

from tests.pipeline.conftest import Stage


def test_a_file_changed_by_hand_shows_as_drift_in_a_warning_in_the_next_pr(stage: Stage) -> None:
    first = stage.create(stage.request(version="5.0.0"))
    stage.rolled_out(first)
    done = stage.execute(first)
    assert done is not None and done.is_completed(), done
    pr = stage.tags(first).pr
    assert pr is not None
    assert "[!WARNING]" not in stage.api(f"/pulls/{pr.number}")["body"]  # no ledger yet: nothing to compare

    head = stage.gateway().snapshot(stage.repo, "main")
    assert "dev/.fluxgate-files" in head.files  # fluxgate's PR wrote the ledger with the manifests
    path = next(p for p in sorted(head.files) if p.endswith("/deployment-shop-web.yaml"))
    text = subprocess.run(
        ["git", f"--git-dir={head.git_dir}", "show", f"{head.commit}:{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    stage.github.emulator.commit_files(
        stage.repo, "main", {path: "# scaled up during the incident\n" + text}, "hotfix", author="alice"
    )

    second = stage.create(stage.request(version="5.1.0"))
    assert stage.execute(second) is None and stage.pause_key(second) == "await-merge"
    pr = stage.tags(second).pr
    assert pr is not None
    body = stage.api(f"/pulls/{pr.number}")["body"]
    assert (
        "> [!WARNING]\n"
        "> 1 file in dev/ was changed by hand since fluxgate last merged here; "
        "this pull request replaces it:\n"
        f"> - `{path}` (changed)\n"
    ) in body, body
    assert body.index("[!WARNING]") < body.index("### shop@5.1.0 → dev")
