"""A stage's proposal against the emulated GitHub, as the deploy-stage flow makes it (the render task's
`gateway.snapshot` + `prepare_stage`, then the open-pr task's `promote`): a file of the environment's
folder changed by hand since fluxgate's PR merged is named in a warning at the top of the next PR."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fluxgate.config import PipelineConfig, load_config
from fluxgate.github import GitHubGateway, Promotion, PromotionOutcome, promote
from fluxgate.release import build_release
from fluxgate.sandbox.github import RunningEmulator
from fluxgate.stage import PreparedStage, prepare_stage
from tests.cli.conftest import EXAMPLES
from tests.github.gateway import gateway


def _propose(
    gw: GitHubGateway, repo: str, config: PipelineConfig, version: str
) -> tuple[PreparedStage, PromotionOutcome]:
    base = gw.snapshot(repo, "main")
    release = build_release(config, [f"web={version}", f"worker={version}"], version)
    prepared = prepare_stage(config, "dev", release, base)
    outcome = promote(
        gw,
        repo,
        "main",
        Promotion(app="shop", env="dev", version=version),
        {path: text.encode() for path, text in prepared.files.items()},
        prepared.folders,
        prepared.markdown,
        labels=["fluxgate"],
        base=base,
    )
    return prepared, outcome


def _text(gw: GitHubGateway, repo: str, path: str) -> str:
    head = gw.snapshot(repo, "main")
    return subprocess.run(
        ["git", f"--git-dir={head.git_dir}", "show", f"{head.commit}:{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_files_changed_added_and_removed_by_hand_are_named_in_the_next_pr(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    gw = gateway(github, tmp_path / "cache")
    config = load_config(EXAMPLES / "shop" / "fluxgate.yaml")
    first, opened = _propose(gw, manifests_repo, config, "5.0.0")
    assert first.summary.drift == [] and "[!WARNING]" not in first.markdown
    assert opened.status == "opened" and opened.pull_request is not None
    gw.merge(manifests_repo, opened.pull_request.number, "merge")

    head = gw.snapshot(manifests_repo, "main")
    dev = sorted(p for p in head.files if p.startswith("dev/"))
    assert "dev/.fluxgate-files" in dev
    ledger = _text(gw, manifests_repo, "dev/.fluxgate-files").splitlines()
    assert [line.split("  ")[1] for line in ledger[1:]] == [p[4:] for p in dev if p != "dev/.fluxgate-files"]
    assert all(head.files[f"dev/{line.split('  ')[1]}"] == line.split("  ")[0] for line in ledger[1:])

    again, outcome = _propose(gw, manifests_repo, config, "5.0.0")  # the ledger is stable: nothing to do
    assert again.empty and again.summary.drift == [] and outcome.status == "no_changes"

    web = next(p for p in dev if p.endswith("/deployment-shop-web.yaml"))
    worker = next(p for p in dev if p.endswith("/deployment-shop-worker.yaml"))
    edited = "# scaled up during the incident\n" + _text(gw, manifests_repo, web)
    by_hand: dict[str, str | bytes] = {web: edited, "dev/debug-pod.yaml": "x: 1\n"}
    github.emulator.commit_files(manifests_repo, "main", by_hand, "hotfix", author="alice", deletes=(worker,))

    second, outcome = _propose(gw, manifests_repo, config, "5.1.0")
    assert second.summary.drift == ["dev/debug-pod.yaml (added)", f"{web} (changed)", f"{worker} (removed)"]
    assert outcome.status == "opened" and outcome.pull_request is not None
    body = gw.repo(manifests_repo).get_pull(outcome.pull_request.number).body
    warning = (
        "> [!WARNING]\n"
        "> 3 files in dev/ were changed by hand since fluxgate last merged here; "
        "this pull request replaces them:\n"
        "> - `dev/debug-pod.yaml` (added)\n"
        f"> - `{web}` (changed)\n"
        f"> - `{worker}` (removed)\n"
    )
    assert warning in body, body
    assert body.index("[!WARNING]") < body.index("### shop@5.1.0 → dev")
    assert outcome.deleted == 1  # the PR takes the stray file out again, and puts the others back


def test_a_folder_written_before_the_ledger_existed_gets_no_pr_when_its_objects_match(
    github: RunningEmulator, manifests_repo: str, tmp_path: Path
) -> None:
    """The ledger is no object: adding it alone never makes a stage propose a PR."""
    gw = gateway(github, tmp_path / "cache")
    config = load_config(EXAMPLES / "shop" / "fluxgate.yaml")
    base = gw.snapshot(manifests_repo, "main")
    release = build_release(config, ["web=5.0.0", "worker=5.0.0"], "5.0.0")
    rendered = prepare_stage(config, "dev", release, base).files
    older = {path: text for path, text in rendered.items() if not path.endswith("/.fluxgate-files")}
    github.emulator.commit_files(manifests_repo, "main", dict(older), "before the ledger", "fluxgate-bot")

    prepared = prepare_stage(config, "dev", release, gw.snapshot(manifests_repo, "main"))
    assert prepared.empty and prepared.summary.drift == []
    assert "dev/.fluxgate-files" in prepared.files  # written with the next real change
