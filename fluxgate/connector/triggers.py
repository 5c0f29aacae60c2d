"""GitHub says a release is ready: start the first environment's stage run.

Three signals from the app's `code_repo`, each opted into under `triggers:` in fluxgate.yaml:
- `workflow_run` completed with success for the configured CI workflow on the configured branch:
  the release is the commit, version and image tags are its short sha;
- `release` published (not a draft): version and image tags are the tag without a leading `v`, the
  sources are the tag's commit;
- `repository_dispatch` `fluxgate.deploy` with `{"version": ..., "images": {component: tag or ref}}`
  and optionally `"ref"` (a branch, tag or commit; default: `triggers.branch`).

`plan_release` is pure (which app and release a fact names, at which code ref, or why none);
`StageStarter` resolves the ref to a commit, pins the first environment's config, and creates the
run through the Prefect client, once per release (the Prefect idempotency key), so a redelivered
webhook or a second signal for the same version starts nothing new.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import NamedTuple

from fluxgate.config import PipelineConfig
from fluxgate.connector.github_events import DispatchFact, Fact, ReleaseFact, WorkflowRunFact
from fluxgate.errors import Ignored
from fluxgate.github import GitHubGateway, WorkflowRun
from fluxgate.prefect_api import connect
from fluxgate.release import Release, build_release
from fluxgate.runs import create_stage_run
from fluxgate.stage import pin_request, resolve_source

__all__ = ["DISPATCH_EVENT", "ReleasePlan", "StageStarter", "plan_release"]

DISPATCH_EVENT = "fluxgate.deploy"


class NotARelease(Ignored):
    """The fact is valid but releases nothing (another workflow, a failed run, a draft): why."""


def _workflow_matches(wanted: str, run: WorkflowRun) -> bool:
    return wanted in (run.name, run.path, PurePosixPath(run.path or "").name)


class ReleasePlan(NamedTuple):
    """The app a fact releases, its release (images and version), and the code ref it was built at."""

    config: PipelineConfig
    release: Release
    ref: str


def _release_of(config: PipelineConfig, fact: Fact) -> tuple[Release, str]:
    triggers = config.triggers
    if isinstance(fact, WorkflowRunFact):
        run = fact.run
        if not triggers.workflow or not _workflow_matches(triggers.workflow, run):
            raise NotARelease(f"workflow {run.name!r} is not the CI workflow of {config.app}")
        if fact.action != "completed" or run.conclusion != "success":
            raise NotARelease(f"workflow {run.name!r} {fact.action or run.status}: {run.conclusion}")
        if run.head_branch != triggers.branch:
            raise NotARelease(f"workflow {run.name!r} ran on {run.head_branch}, not {triggers.branch}")
        tag = run.head_sha[:7]
        return build_release(config, {name: tag for name in config.components}, tag), run.head_sha
    if isinstance(fact, ReleaseFact):
        if not triggers.release:
            raise NotARelease(f"releases do not trigger {config.app} (triggers.release is off)")
        if fact.action != "published" or fact.draft:
            raise NotARelease(f"release {fact.tag} {fact.action}{' (draft)' if fact.draft else ''}")
        version = fact.tag.removeprefix("v")
        release = build_release(config, {name: version for name in config.components}, version)
        return release, f"refs/tags/{fact.tag}"
    if isinstance(fact, DispatchFact):
        if fact.event_type != DISPATCH_EVENT or not triggers.dispatch:
            raise NotARelease(f"repository_dispatch {fact.event_type!r} is not {DISPATCH_EVENT}")
        payload = fact.client_payload
        images = payload.get("images")
        named = payload.get("version")
        ref = payload.get("ref", triggers.branch)
        if (
            not isinstance(images, dict)
            or (named is not None and not isinstance(named, str))
            or not isinstance(ref, str)
        ):
            raise NotARelease(
                f"repository_dispatch {DISPATCH_EVENT}: client_payload needs "
                '{"version": "1.4.2", "images": {"<component>": "<tag or image ref>"}} '
                'and optionally "ref": "<branch, tag or commit>"'
            )
        return build_release(config, {str(k): str(v) for k, v in images.items()}, named), ref
    raise NotARelease(f"{fact.kind} does not release anything")


def plan_release(configs: list[PipelineConfig], fact: Fact) -> ReleasePlan:
    """The app whose code repo sent the fact, the release it names and the code ref it was built at;
    NotARelease with why if none."""
    repo = getattr(fact, "repo", None)
    config = next((c for c in configs if c.code_repo == repo), None)
    if config is None:
        raise NotARelease(f"{repo} is not the code repo of any app served here")
    release, ref = _release_of(config, fact)
    return ReleasePlan(config, release, ref)


class StageStarter:
    """Creates the first environment's stage run on the Prefect server (needs `PREFECT_API_URL`),
    rendering the code repository at the plan's ref, resolved to a commit here, once."""

    def start(self, github: GitHubGateway, plan: ReleasePlan) -> str:
        config, release = plan.config, plan.release
        source, _ = resolve_source(github, config, plan.ref)
        first = config.environments[0].name
        request = pin_request(github, release.model_copy(update={"source": source}), first)
        with connect(check=False) as api:
            run = create_stage_run(api, request, f"fluxgate-release:{release.app}@{release.version}")
        return f"started {request.run_name} (flow run {run.id})"
