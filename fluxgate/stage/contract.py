"""The contract between a stage run and the connector: what a waiting run says about itself, and what
it is answered with.

A `deploy-stage` run and the connector never call each other. They meet on the Prefect server:

- the run's **tags** (`StageTags`) say which release and environment it is, and once known the
  promotion PR, the merge commit, when its current wait ends by itself, the PR the connector may
  merge for it, the verification workflow runs it waits for, and which attempt each wait is at;
- its **pause key** (`PauseKey`) says what it waits for (`Wait`) and which attempt that is: a second
  attempt needs a new key, because Prefect hands a used key's old input back instead of suspending;
- the **run input** it is resumed with is the model of that wait (`Wait.input`).

Every tag is written by `StageTags.to_tags` and read by `StageTags.from_tags`, every key by
`PauseKey`: nothing else spells or parses them. Tags are plain strings in the Prefect UI, so a
person can read them (and edit them): a malformed part is skipped, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fluxgate.stage.inputs import FluxResult, MergeResult, SoakResult, VerifyResult

__all__ = [
    "TAG_PREFIX",
    "AutoMerge",
    "PauseKey",
    "PullRef",
    "StageTags",
    "Wait",
    "WaitInput",
    "WorkflowRef",
]

TAG_PREFIX = "fluxgate."
WaitInput = MergeResult | FluxResult | VerifyResult | SoakResult
_FROZEN = ConfigDict(frozen=True)


def _number(text: str) -> int | None:
    """A count, an id or a time as a tag spells it; None for anything else (a person's typo, or a
    thousand digits that Python would refuse to read)."""
    return int(text) if text.isdigit() and len(text) <= 18 else None


class Wait(StrEnum):
    """The suspensions of a stage, in the order a stage reaches them."""

    MERGE = "await-merge"  # the promotion PR merged or closed (GitHub, through the connector)
    FLUX = "await-flux"  # every cluster ready at the merge commit, or one failed (Flux)
    VERIFY = "await-verify"  # the verification workflow runs finished (GitHub Actions)
    SOAK = "soak"  # the soak time passed without a Flux failure

    @property
    def input(self) -> type[WaitInput]:
        """The model the run is resumed with (the flow reads it back through a RunInput of it)."""
        return _INPUTS[self]


_INPUTS: dict[Wait, type[WaitInput]] = {
    Wait.MERGE: MergeResult,
    Wait.FLUX: FluxResult,
    Wait.VERIFY: VerifyResult,
    Wait.SOAK: SoakResult,
}


class PauseKey(BaseModel):
    """`await-flux` for the first attempt at a wait, `await-flux-2`, ... for later ones."""

    model_config = _FROZEN

    wait: Wait
    attempt: int = Field(default=1, ge=1)

    def __str__(self) -> str:
        return self.wait.value if self.attempt == 1 else f"{self.wait.value}-{self.attempt}"

    @classmethod
    def parse(cls, key: str | None) -> PauseKey | None:
        """The key a paused run shows, or None for a pause that is not one of fluxgate's waits."""
        for wait in Wait:
            if key == wait.value:
                return cls(wait=wait)
            rest = (key or "").removeprefix(f"{wait.value}-")
            attempt = _number(rest) if rest != key else None
            if attempt is not None and attempt >= 2 and str(attempt) == rest:
                return cls(wait=wait, attempt=attempt)
        return None


class PullRef(BaseModel):
    """A pull request: `acme/shop-manifests#12`."""

    model_config = _FROZEN

    repo: str
    number: int

    def __str__(self) -> str:
        return f"{self.repo}#{self.number}"

    @classmethod
    def parse(cls, text: str) -> PullRef | None:
        repo, _, digits = text.rpartition("#")
        number = _number(digits)
        return cls(repo=repo, number=number) if repo and number is not None else None


class WorkflowRef(BaseModel):
    """A GitHub Actions workflow run a stage waits for: `acme/shop#4242`."""

    model_config = _FROZEN

    repo: str
    run_id: int

    def __str__(self) -> str:
        return f"{self.repo}#{self.run_id}"


class AutoMerge(BaseModel):
    """An auto-approved PR GitHub would not merge yet (required checks pending): the connector merges
    it at `head_sha` with `method` once the checks pass."""

    model_config = _FROZEN

    method: Literal["merge", "squash", "rebase"]
    head_sha: str

    def __str__(self) -> str:
        return f"{self.method}:{self.head_sha}"

    @classmethod
    def parse(cls, text: str) -> AutoMerge | None:
        method, _, head_sha = text.partition(":")
        if method not in ("merge", "squash", "rebase") or not head_sha:
            return None
        return cls.model_validate({"method": method, "head_sha": head_sha})


class StageTags(BaseModel):
    """What a stage run's tags say. Written whole by the flow (`to_tags`), read by the connector, the
    CLI and the demo (`from_tags`).

    Wire form, one tag each: `fluxgate.release:<app>@<version>`, `fluxgate.env:<env>`,
    `fluxgate.pr:<owner>/<repo>#<n>`, `fluxgate.sha:<merge sha>`, `fluxgate.automerge:<method>:<head>`,
    `fluxgate.workflows:<repo>#<run>,<repo>#<run>`, `fluxgate.due:<epoch seconds>`,
    `fluxgate.attempt.<wait>:<n>`.
    """

    model_config = _FROZEN

    app: str
    version: str
    env: str
    pr: PullRef | None = None
    sha: str | None = Field(default=None, description="the merge commit Flux must apply")
    automerge: AutoMerge | None = None
    workflows: tuple[WorkflowRef, ...] = ()
    due: int | None = Field(default=None, description="epoch seconds when the current wait ends by itself")
    attempts: dict[Wait, int] = Field(default_factory=dict, description="waits past their first attempt")

    @property
    def release(self) -> str:
        return f"{self.app}@{self.version}"

    def pause_key(self, wait: Wait) -> PauseKey:
        """The key of the current attempt at `wait`."""
        return PauseKey(wait=wait, attempt=self.attempts.get(wait, 1))

    def retried(self, wait: Wait) -> StageTags:
        """After a failed answer at `wait`: a retry of the run suspends there afresh, under a new key."""
        return self.model_copy(update={"attempts": {**self.attempts, wait: self.pause_key(wait).attempt + 1}})

    def with_(self, **changes: object) -> StageTags:
        """A copy with fields changed, validated (model_copy does not validate)."""
        return StageTags.model_validate({**self.model_dump(), **changes})

    def to_tags(self) -> list[str]:
        tags = [f"{TAG_PREFIX}release:{self.release}", f"{TAG_PREFIX}env:{self.env}"]
        if self.pr is not None:
            tags.append(f"{TAG_PREFIX}pr:{self.pr}")
        if self.sha:
            tags.append(f"{TAG_PREFIX}sha:{self.sha}")
        if self.automerge is not None:
            tags.append(f"{TAG_PREFIX}automerge:{self.automerge}")
        if self.workflows:
            tags.append(f"{TAG_PREFIX}workflows:" + ",".join(str(w) for w in self.workflows))
        if self.due is not None:
            tags.append(f"{TAG_PREFIX}due:{self.due}")
        attempts = sorted(self.attempts.items())
        tags += [f"{TAG_PREFIX}attempt.{wait.value}:{n}" for wait, n in attempts if n > 1]
        return tags

    @classmethod
    def from_tags(cls, tags: Iterable[str]) -> StageTags | None:
        """The stage a run's tags describe; None when they name no release and environment (not a stage
        run, or one whose tags a person removed)."""
        found: dict[str, str] = {}
        for tag in tags:
            name, sep, value = tag.partition(":")
            if sep and name.startswith(TAG_PREFIX):
                found[name.removeprefix(TAG_PREFIX)] = value
        app, at, version = found.get("release", "").partition("@")
        if not (app and at and version and found.get("env")):
            return None
        return cls(
            app=app,
            version=version,
            env=found["env"],
            pr=PullRef.parse(found.get("pr", "")),
            sha=found.get("sha") or None,
            automerge=AutoMerge.parse(found.get("automerge", "")),
            workflows=tuple(_workflow_refs(found.get("workflows", ""))),
            due=_number(found.get("due", "")),
            attempts={
                wait: attempt
                for wait in Wait
                if (attempt := _number(found.get(f"attempt.{wait.value}", ""))) is not None and attempt >= 2
            },
        )

    @staticmethod
    def selecting(app: str, version: str | None = None, env: str | None = None) -> list[str]:
        """The tags every stage run of `app` (narrowed to a release and/or an environment) carries:
        what to filter runs by on the server."""
        tags = [f"{TAG_PREFIX}release:{app}@{version}"] if version else []
        return tags + ([f"{TAG_PREFIX}env:{env}"] if env else [])

    @staticmethod
    def merged_into(current: Iterable[str], tags: StageTags) -> list[str]:
        """A run's whole tag list with fluxgate's tags replaced by `tags` (a person's own tags stay)."""
        return [t for t in current if not t.startswith(TAG_PREFIX)] + tags.to_tags()


def _workflow_refs(value: str) -> list[WorkflowRef]:
    refs = []
    for part in value.split(","):
        repo, _, digits = part.rpartition("#")
        if repo and (run_id := _number(digits)) is not None:
            refs.append(WorkflowRef(repo=repo, run_id=run_id))
    return refs
