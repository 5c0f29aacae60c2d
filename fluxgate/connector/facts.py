"""Facts GitHub told the connector, kept until a waiting stage asks for them: typed in, typed out.

A merged (or closed) promotion PR and a finished verification workflow run are the answers stages
wait for. They can arrive before the stage suspends (a fast merge), from a webhook, from the
auto-merger or from the watchdog; whoever learns one keeps it here, and the resumer reads it back
as the stage's run input. Stored as JSON in the store's `effects` table (`keys`).
"""

from __future__ import annotations

from pydantic import BaseModel

from fluxgate.connector import keys
from fluxgate.connector.store import Store
from fluxgate.github import Promotion
from fluxgate.stage import MergeResult

__all__ = ["Facts", "MergeFact", "WorkflowOutcome"]


class MergeFact(MergeResult, Promotion):
    """The `await-merge` answer, and the promotion (app, env, version) the PR settles."""

    @property
    def result(self) -> MergeResult:
        return MergeResult.model_validate(self.model_dump(include=set(MergeResult.model_fields)))

    @property
    def promotion(self) -> Promotion:
        return Promotion.model_validate(self.model_dump(include=set(Promotion.model_fields)))


class WorkflowOutcome(BaseModel):
    """How a workflow run ended (`conclusion` None: it had not finished in time)."""

    name: str
    conclusion: str | None
    url: str


class Facts:
    def __init__(self, store: Store) -> None:
        self.store = store

    def keep_merge(self, repo: str, number: int, fact: MergeFact) -> None:
        self.store.record_effect(keys.merge_fact(repo, number), fact.model_dump_json())

    def merge(self, repo: str, number: int) -> MergeFact | None:
        kept = self.store.effect_done(keys.merge_fact(repo, number))
        return MergeFact.model_validate_json(kept) if kept is not None else None

    def merges(self) -> list[MergeFact]:
        """Every kept merge fact, oldest first."""
        kept = self.store.effects_with_prefix(keys.MERGE_FACTS)
        return [MergeFact.model_validate_json(value) for _key, value in kept]

    def keep_workflow(self, repo: str, run_id: int, outcome: WorkflowOutcome) -> None:
        self.store.record_effect(keys.workflow_fact(repo, run_id), outcome.model_dump_json())

    def workflow(self, repo: str, run_id: int) -> WorkflowOutcome | None:
        kept = self.store.effect_done(keys.workflow_fact(repo, run_id))
        return WorkflowOutcome.model_validate_json(kept) if kept is not None else None
