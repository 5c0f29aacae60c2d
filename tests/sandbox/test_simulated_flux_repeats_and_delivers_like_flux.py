"""Flux's habits the connector must live with: the outcome is repeated every interval at the same
revision, a delivery the receiver fails is retried a few times and then dropped, and credentials never
show up in what it sends or logs."""

from __future__ import annotations

import logging

import pytest

from fluxgate.connector.signatures import verify_flux_signature
from fluxgate.sandbox.github import RunningEmulator
from tests.conftest import TOKEN
from tests.http_service import Service
from tests.sandbox.conftest import (
    DEV,
    HAPPY,
    KEY,
    WEB_1,
    RunFlux,
    commit,
    header,
    reasons,
    release,
    wait_for,
)


def test_the_outcome_is_repeated_every_interval_at_the_same_revision(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str
) -> None:
    sha = commit(github, manifests_repo, release("dev", WEB_1), "dev")
    flux = run_flux(DEV, repeat_every=0.3)
    sent = wait_for(flux, lambda s: reasons(s, "dev-eu").count("ReconciliationSucceeded") >= 3)

    assert reasons(sent, "dev-eu")[:4] == HAPPY
    repeats = sent[4:]
    assert repeats and {e.reason for e in repeats} == {"ReconciliationSucceeded"}  # no news, no change set
    assert {e.revision for e in sent} == {sha}
    assert all(e.message.endswith("next run in 300ms") for e in repeats)


def test_a_failing_receiver_gets_the_same_signed_body_again(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str, receiver: Service
) -> None:
    receiver.script[:] = [(503, "busy"), (500, "oops"), (200, "")]  # the last answer repeats
    commit(github, manifests_repo, release("dev", WEB_1), "dev")
    flux = run_flux(DEV)
    sent = wait_for(flux, lambda s: "ReconciliationSucceeded" in reasons(s, "dev-eu"))
    assert all(e.delivered for e in sent) and flux.dropped == 0
    assert len(receiver.seen) == len(sent) + 2
    assert [s.body for s in receiver.seen[:3]] == [receiver.seen[0].body] * 3  # the first event, three times
    assert all(verify_flux_signature(s.body.encode(), header(s, "X-Signature"), KEY) for s in receiver.seen)


def test_a_receiver_that_stays_down_loses_the_events(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str, receiver: Service
) -> None:
    receiver.script[:] = [(500, "down")]
    commit(github, manifests_repo, release("dev", WEB_1), "dev")
    flux = run_flux(DEV)
    sent = wait_for(flux, lambda s: "ReconciliationSucceeded" in reasons(s, "dev-eu"))
    assert [e.delivered for e in sent] == [False] * 4 and flux.dropped == 4
    assert len(receiver.seen) == 4 * 5  # five attempts per event, then Flux gives up: nothing is persisted


def test_a_refused_delivery_is_not_retried(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str, receiver: Service
) -> None:
    receiver.script[:] = [(401, "bad signature")]
    commit(github, manifests_repo, release("dev", WEB_1), "dev")
    flux = run_flux(DEV)
    sent = wait_for(flux, lambda s: "ReconciliationSucceeded" in reasons(s, "dev-eu"))
    assert not any(e.delivered for e in sent) and flux.dropped == len(sent) == len(receiver.seen)


def test_the_token_never_shows_in_events_or_logs(
    run_flux: RunFlux, github: RunningEmulator, manifests_repo: str, receiver: Service,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    commit(github, manifests_repo, release("dev", WEB_1), "dev")
    good = run_flux(DEV)
    wait_for(good, lambda s: "ReconciliationSucceeded" in reasons(s, "dev-eu"))
    wrong = "ghp_notknowntotheemulator000000000000000"
    refused = run_flux(DEV, token=wrong)  # a cluster whose deploy token was revoked
    failure = wait_for(refused, lambda s: len(s) >= 1)[0]
    assert (failure.kind, failure.reason) == ("GitRepository", "GitOperationFailed")
    assert failure.severity == "error"
    assert failure.message.startswith("failed to checkout and determine revision: ")

    said = caplog.text + "".join(s.body for s in receiver.seen) + repr(good) + repr(refused)
    said += "".join(e.message for e in good.sent + refused.sent)
    assert caplog.text and "GitOperationFailed" in said
    for secret in (TOKEN, wrong):
        assert secret not in said
