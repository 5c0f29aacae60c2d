"""The demo's story, told by the real product on one machine.

Release 1.0.0 goes dev -> staging -> prod: dev and staging merge their own PRs, prod waits for a
review that a person (`jane-ops`, through the emulated GitHub) gives after reading the PR's change
summary. While prod waits, release 1.1.0 starts in dev, as it would in a busy team. Its web image
fails its health check on the staging cluster, so the staging stage fails, its Deployment says so,
promotion stops, and the rollback PR that restores 1.0.0 in staging is merged and applied.

Nothing here drives the pipeline by hand: stage runs are started like `fluxgate deploy` starts them
and promote themselves; the connector turns GitHub webhooks and the simulated Flux's events into
resumes, statuses and Deployments. The story only plays the people: the one who starts a release
and the one who approves prod.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fluxgate.config import PipelineConfig, load_config
from fluxgate.errors import PermanentError, one_line
from fluxgate.prefect_api import PrefectApi, connect
from fluxgate.runs import create_stage_run, stage_runs
from fluxgate.sandbox.demo.board import Board
from fluxgate.sandbox.demo.project import CODE_REPO, EXAMPLE, seed
from fluxgate.sandbox.flux import SimulatedFlux, clusters_of
from fluxgate.sandbox.stack import FLUX_KEY, TOKEN, Stack
from fluxgate.stage import FINAL_STATES, RunState, StageRun, Wait

__all__ = ["BAD_IMAGE", "REVIEWER", "DemoFailed", "Ending", "Story", "play"]

REVIEWER = "jane-ops"
REVIEWER_TOKEN = "ghp_janeopsreviewer00000000000000000000"
BAD_IMAGE = "ghcr.io/acme/shop-web:1.1.0"  # the staging cluster cannot run it: its health check fails
LOG_FORMAT = "  LOG_FORMAT: 'json',\n"  # the template change 1.1.0 is built with, and 1.0.0 is not


class DemoFailed(PermanentError):
    """The story did not end as told: names the stage run or the step, and where the logs are."""


@dataclass
class Story:
    data: Path
    say: Callable[[Any], None]  # prints above the live board (or to the log)
    board: Board | None = None
    stack: Stack | None = None
    flux: SimulatedFlux | None = None
    config: PipelineConfig | None = None
    timeout: float = 180.0
    live: bool = False  # a live board shows the changes: no line per change then
    postgres: str | None = None  # a PostgreSQL server for Prefect's and the connector's databases
    keep_databases: bool = False
    redis: str | None = None  # with postgres: Prefect in its HA shape (API servers behind HAProxy)
    kill_api: bool = False  # kill -9 one API server while prod waits for its review
    _api: PrefectApi | None = field(default=None, repr=False)
    _session: ExitStack = field(default_factory=ExitStack, repr=False)

    # -- set-up ----------------------------------------------------------------------------------
    def start(self, board: Callable[[PipelineConfig], Board]) -> None:
        code = self.data / "code"
        self.stack = Stack(self.data, code / "fluxgate.yaml", poll=1, resume_interval=0.2,
                           seed=lambda emulator, url: seed(emulator, url, TOKEN, code),
                           postgres=self.postgres, keep_databases=self.keep_databases,
                           redis=self.redis)  # fmt: skip
        # this process is a Prefect client of the stack's server, like the CLI would be
        os.environ.update(self.stack.prefect_env())
        self.stack.start()
        assert self.stack.github is not None
        self.stack.github.emulator.add_token(REVIEWER_TOKEN, REVIEWER)
        self.config = load_config(code / "fluxgate.yaml")
        self.board = board(self.config)
        self.flux = SimulatedFlux(
            git_url=self.stack.github.url,
            repo=self.config.manifests.repo,
            branch=self.config.manifests.branch,
            token=TOKEN,
            clusters=clusters_of(self.config),
            receiver=f"{self.stack.connector_url}/flux/events",
            hmac_key=FLUX_KEY,
            data=self.data / "flux",
            interval=0.5,
            repeat_every=20,
            health_timeout=1.0,
            on_event=self.board.flux_event,
        )
        self.flux.fail_health(BAD_IMAGE, env="staging")
        self.flux.start()

    def stop(self) -> None:
        if self.flux is not None:
            self.flux.stop()
        if self.stack is not None:
            self.stack.stop()

    # -- what the people do ----------------------------------------------------------------------
    def release(self, version: str, images: dict[str, str]) -> None:
        """Start a release's first stage, as `fluxgate deploy --env dev --image ...` does."""
        assert self.stack is not None
        request = self.stack.stage_request(version, images)
        create_stage_run(self.api, request)
        self._note(f"released {request.app}@{version}: {', '.join(images.values())}")

    def kill_api_server(self) -> None:
        """A crash in the middle of the release: one Prefect API server is killed with `kill -9`; the
        load balancer sends everything to the others, and nothing the pipeline does notices."""
        assert self.stack is not None
        self.stack.kill("prefect-api-1")
        self._note("prefect-api-1 killed (kill -9): HAProxy sends every request to prefect-api-2")

    def change_template(self) -> str:
        """A developer pushes a template change to the code repository's main (what 1.1.0 is built
        from); returns the new commit. Stages of 1.0.0 go on rendering 1.0.0's own commit."""
        assert self.stack is not None and self.stack.github is not None
        template = (EXAMPLE / "deploy" / "main.jsonnet").read_text()
        line = "  LOG_LEVEL: values.logLevel,\n"
        changed = template.replace(line, line + LOG_FORMAT)
        assert changed != template, "the example's template no longer has the line the demo changes"
        commit = self.stack.github.emulator.commit_files(
            CODE_REPO, "main", {"deploy/main.jsonnet": changed}, "deploy: structured logs", author="acme"
        )
        self._note(f"acme pushed {commit[:7]} to {CODE_REPO}: deploy/main.jsonnet sets LOG_FORMAT=json")
        return commit

    def manifests_mention(self, env: str, text: str) -> bool:
        """Whether the environment's folder on the manifests branch holds `text` (what Flux applies)."""
        assert self.stack is not None and self.stack.github is not None
        emulator = self.stack.github.emulator
        _record, git = emulator.repo(*self._config().manifests.repo.split("/", 1))
        head = git.ref(f"refs/heads/{self._config().manifests.branch}")
        assert head is not None
        folder = self._config().environment(env).manifests_folder + "/"
        blobs = [sha for path, (_mode, sha) in git.files(git.read_commit(head).tree).items()
                 if path.startswith(folder)]  # fmt: skip
        return any(text.encode() in git.read_blob(sha) for sha in blobs)

    def approve_and_merge(self, run: StageRun) -> None:
        """The reviewer reads the PR in GitHub, approves it and merges it (the method the config asks)."""
        assert self.stack is not None and self.stack.github is not None
        tags = run.stage
        assert tags is not None and tags.pr is not None, run.tags
        number = tags.pr.number
        env = self._config().environment(tags.env)
        base = f"{self.stack.github.url}/repos/{self._config().manifests.repo}"
        auth = {"Authorization": f"token {REVIEWER_TOKEN}"}
        with httpx.Client(base_url=base, headers=auth, timeout=10) as github:
            pr = github.get(f"/pulls/{number}").raise_for_status().json()
            self.say(f"\n[bold]PR #{number}: {pr['title']}[/] (waiting for a review by "
                     f"{', '.join(pr_reviewers(pr))})\n")  # fmt: skip
            self.say(pr["body"])
            github.post(f"/pulls/{number}/reviews", json={"event": "APPROVE", "body": "Looks right."}
                        ).raise_for_status()  # fmt: skip
            github.put(f"/pulls/{number}/merge", json={"merge_method": env.approval.merge_method}
                       ).raise_for_status()  # fmt: skip
        self._note(f"{REVIEWER} approved and merged PR #{number}")

    # -- watching --------------------------------------------------------------------------------
    def wait_for(self, what: str, found: Callable[[dict[str, StageRun]], Any]) -> Any:
        """Refresh the board until `found(runs by name)` is truthy; a stage that ends otherwise than the
        story says fails the demo with its own message."""
        deadline = time.monotonic() + self.timeout
        while True:
            runs = {r.name: r for r in stage_runs(self.api, self._config().app)}
            assert self.board is not None
            changes = self.board.update_runs(list(runs.values()))
            if not self.live:
                for line in changes:
                    self.say(line)
            hit = found(runs)
            if hit:
                return hit
            if time.monotonic() > deadline:
                raise DemoFailed(f"{what}: not after {self.timeout:.0f} s; logs in {self.data}")
            time.sleep(0.3)

    @property
    def api(self) -> PrefectApi:
        """The story's session with the stack's Prefect server, opened on first use."""
        if self._api is None:
            self._api = self._session.enter_context(connect(check=False))
        return self._api

    def close_client(self) -> None:
        self._session.close()
        self._api = None

    def _config(self) -> PipelineConfig:
        assert self.config is not None
        return self.config

    def _note(self, text: str) -> None:
        assert self.board is not None
        self.board.note(text)
        if not self.live:
            self.say(self.board.lines[-1])


def pr_reviewers(pr: dict[str, Any]) -> list[str]:
    users = [u["login"] for u in pr.get("requested_reviewers") or []]
    return users + [f"@{t.get('slug', t.get('name'))}" for t in pr.get("requested_teams") or []] or ["anyone"]


def ended(runs: dict[str, StageRun], name: str, expected: RunState) -> bool:
    """True once `name` ended as `expected`; a different ending is the story going wrong."""
    run = runs.get(name)
    now = run.state if run is not None else None
    if run is not None and now in FINAL_STATES and now != expected:
        ending = f"{name} ended {str(now).lower()}, expected {expected.lower()}"
        raise DemoFailed(f"{ending}: {run.message}" if run.message else ending)
    return now == expected


def paused_at(runs: dict[str, StageRun], name: str, wait: Wait) -> StageRun | None:
    run = runs.get(name)
    if run is None:
        return None
    ended(runs, name, RunState.PAUSED)  # raises if it ended instead
    key = run.waiting_at
    return run if key is not None and key.wait == wait else None


@dataclass(frozen=True)
class Ending:
    """How the story ended, for the closing summary."""

    lines: list[str]
    seconds: float


def play(story: Story) -> Ending:
    """Release 1.0.0 to every environment and 1.1.0 until staging refuses it; see the module's text."""
    started = time.monotonic()
    config = story._config()
    app, envs = config.app, [e.name for e in config.environments]
    first, middle, last = envs[0], envs[1], envs[-1]

    def name(version: str, env: str) -> str:
        return f"{app}@{version} -> {env}"

    def images(version: str, **tags: str) -> dict[str, str]:
        return {c: f"{comp.image}:{tags.get(c, version)}" for c, comp in config.components.items()}

    def prod_waits(runs: dict[str, StageRun]) -> StageRun | None:
        for env in envs[:-1]:
            if name("1.0.0", env) in runs:
                ended(runs, name("1.0.0", env), RunState.COMPLETED)
        return paused_at(runs, name("1.0.0", last), Wait.MERGE)

    story.release("1.0.0", images("1.0.0"))
    waiting = story.wait_for(f"{name('1.0.0', last)} waiting for a review", prod_waits)
    if story.kill_api:
        story.kill_api_server()
    built = story.change_template()  # main moves on while prod waits: 1.1.0 is built from it
    story.release("1.1.0", images("1.0.0", web="1.1.0"))
    story.approve_and_merge(waiting)

    rollback = f"{name('1.0.0', middle)} (rollback from 1.1.0)"

    def settled(runs: dict[str, StageRun]) -> dict[str, StageRun] | None:
        done = [
            ended(runs, name("1.0.0", last), RunState.COMPLETED),
            ended(runs, name("1.1.0", first), RunState.COMPLETED),
            ended(runs, name("1.1.0", middle), RunState.FAILED),
            ended(runs, rollback, RunState.COMPLETED),
        ]
        return runs if all(done) else None

    runs = story.wait_for(f"1.0.0 live in {last}, 1.1.0 stopped in {middle} and rolled back", settled)
    if name("1.1.0", last) in runs:
        raise DemoFailed(f"{name('1.1.0', last)} exists: a release that failed {middle} was promoted")
    failure = one_line(runs[name("1.1.0", middle)].message or "")
    if runs[name("1.1.0", first)].request.source.commit != built:
        raise DemoFailed(f"{name('1.1.0', first)} did not render {built[:7]}, the commit it was built from")
    if story.manifests_mention(last, "LOG_FORMAT") or not story.manifests_mention(first, "LOG_FORMAT"):
        raise DemoFailed(f"{last} should render 1.0.0's templates and {first} 1.1.0's: the pins did not hold")
    pinned = runs[name("1.0.0", last)].request.source.commit[:7]
    return Ending(
        [
            f"{app}@1.0.0 is live and healthy in {', '.join(envs)} ({REVIEWER} approved {last}).",
            f"{app}@1.1.0 reached {first}, then failed in {middle}: {failure}",
            f"{middle} is back on 1.0.0 through a reviewed rollback PR; {app}@1.1.0 never reached {last}.",
            f"{last} renders 1.0.0's own commit {pinned} although main moved to {built[:7]} (LOG_FORMAT) "
            f"while it waited: every stage renders the commits its release names.",
        ],
        time.monotonic() - started,
    )
