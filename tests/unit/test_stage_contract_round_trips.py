"""The contract between a stage run and the connector: tags and pause keys written by one side read back
the same by the other, in the wire form the Prefect UI shows, and a hand-edited tag never breaks a
reader."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fluxgate.stage import AutoMerge, PauseKey, PullRef, StageTags, Wait, WorkflowRef

NAME = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
SHA = st.from_regex(r"[0-9a-f]{40}", fullmatch=True)
REPO = st.builds(lambda owner, name: f"{owner}/{name}", NAME, NAME)
AUTOMERGE = st.builds(AutoMerge, method=st.sampled_from(["merge", "squash", "rebase"]), head_sha=SHA)
WORKFLOW = st.builds(WorkflowRef, repo=REPO, run_id=st.integers(1, 10**12))
TAGS = st.builds(
    StageTags,
    app=NAME,
    version=st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True),
    env=NAME,
    pr=st.none() | st.builds(PullRef, repo=REPO, number=st.integers(1, 10**6)),
    sha=st.none() | SHA,
    automerge=st.none() | AUTOMERGE,
    workflows=st.lists(WORKFLOW, max_size=3).map(tuple),
    due=st.none() | st.integers(0, 2**40),
    attempts=st.dictionaries(st.sampled_from(list(Wait)), st.integers(2, 50)),
)


@given(TAGS)
def test_every_stage_tags_survive_the_trip_through_prefect_tags(tags: StageTags) -> None:
    wire = tags.to_tags()
    assert all(tag.startswith("fluxgate.") for tag in wire)
    assert StageTags.from_tags(wire) == tags
    assert StageTags.from_tags(["person-added", *reversed(wire)]) == tags  # order and others do not matter


def test_the_wire_form_is_what_the_ui_shows_and_older_runs_carry() -> None:
    tags = StageTags(
        app="shop", version="1.4.2", env="prod",
        pr=PullRef(repo="acme/shop-manifests", number=12), sha="a" * 40,
        automerge=AutoMerge(method="squash", head_sha="b" * 40),
        workflows=(WorkflowRef(repo="acme/shop", run_id=41), WorkflowRef(repo="acme/shop", run_id=42)),
        due=1796286477, attempts={Wait.FLUX: 2},
    )
    assert tags.to_tags() == [
        "fluxgate.release:shop@1.4.2",
        "fluxgate.env:prod",
        "fluxgate.pr:acme/shop-manifests#12",
        f"fluxgate.sha:{'a' * 40}",
        f"fluxgate.automerge:squash:{'b' * 40}",
        "fluxgate.workflows:acme/shop#41,acme/shop#42",
        "fluxgate.due:1796286477",
        "fluxgate.attempt.await-flux:2",
    ]


def test_tags_a_person_broke_are_skipped_not_fatal() -> None:
    tags = StageTags.from_tags([
        "fluxgate.release:shop@1.0.0", "fluxgate.env:dev", "fluxgate.pr:no-number", "fluxgate.due:soon",
        "fluxgate.automerge:fast:abc", "fluxgate.workflows:acme/shop#x,#3,acme/shop#7",
        "fluxgate.attempt.await-flux:two", "fluxgate.attempt.await-nothing:3", "fluxgate.attempt.soak:1",
        f"fluxgate.attempt.await-verify:{'9' * 5000}",  # more digits than Python reads: skipped, not raised
    ])
    assert tags == StageTags(
        app="shop", version="1.0.0", env="dev", workflows=(WorkflowRef(repo="acme/shop", run_id=7),)
    )
    assert StageTags.from_tags(["fluxgate.env:dev"]) is None  # no release: not a stage run
    assert StageTags.from_tags(["fluxgate.release:shop", "fluxgate.env:dev"]) is None


def test_a_failed_answer_moves_the_wait_to_a_new_pause_key() -> None:
    tags = StageTags(app="shop", version="1.0.0", env="dev")
    assert str(tags.pause_key(Wait.FLUX)) == "await-flux"
    again = tags.retried(Wait.FLUX).retried(Wait.FLUX)
    assert str(again.pause_key(Wait.FLUX)) == "await-flux-3"
    assert str(again.pause_key(Wait.SOAK)) == "soak"  # other waits keep their first key
    assert PauseKey.parse("await-flux-3") == again.pause_key(Wait.FLUX)


@pytest.mark.parametrize(("key", "parsed"), [
    ("await-merge", PauseKey(wait=Wait.MERGE)),
    ("await-verify-2", PauseKey(wait=Wait.VERIFY, attempt=2)),
    ("soak-12", PauseKey(wait=Wait.SOAK, attempt=12)),
    ("await-flux-1", None),  # the first attempt has no number
    ("await-flux-02", None),
    (f"soak-{'9' * 5000}", None),
    ("await-flux-", None),
    ("await-fluxes", None),
    ("approve", None),  # a pause of someone else's
    ("", None),
    (None, None),
])
def test_pause_keys_parse_only_fluxgates_waits(key: str | None, parsed: PauseKey | None) -> None:
    assert PauseKey.parse(key) == parsed
    if parsed is not None:
        assert str(parsed) == key


def test_each_wait_is_answered_with_its_own_model() -> None:
    from fluxgate.stage import FluxResult, MergeResult, SoakResult, VerifyResult

    assert {wait: wait.input for wait in Wait} == {
        Wait.MERGE: MergeResult, Wait.FLUX: FluxResult, Wait.VERIFY: VerifyResult, Wait.SOAK: SoakResult,
    }
