"""Whatever arrives at the connector, the parsers answer with a fact, None, or one EventRejected line.

Property tests: arbitrary JSON, bytes and near-miss Flux and GitHub bodies never raise anything else, so
a hostile or broken sender can cost the connector a 400, never a 500 or a crashed worker.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fluxgate.connector.flux_events import EventRejected, Revision, parse_flux_event, parse_revision
from fluxgate.connector.github_events import HANDLED_EVENTS, parse_github_event
from fluxgate.connector.signatures import (
    FLUX_ALGORITHMS,
    flux_signature,
    github_signature,
    verify_flux_signature,
    verify_github_signature,
)

FAST = settings(max_examples=150, deadline=None)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right shape, sometimes any JSON value: reaches the checks behind the first field."""
    return st.one_of(value, value, value, json_values)


hexes = st.text("0123456789abcdefABCDEF", min_size=0, max_size=70)
revisions = st.one_of(
    st.text(max_size=80),
    st.builds(lambda ref, alg, h: f"{ref}@{alg}:{h}",
              st.text(max_size=20), st.sampled_from(["sha1", "sha256", "x"]), hexes),
    st.builds(lambda ref, h: f"{ref}/{h}", st.text(max_size=20), hexes),
    st.builds(lambda h: f"main@sha1:{h}", st.text("0123456789abcdef", min_size=40, max_size=40)),
)
metadata_keys = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["revision", "env", "cluster", "kustomize.toolkit.fluxcd.io/revision",
                     "helm.toolkit.fluxcd.io/revision", "source.toolkit.fluxcd.io/digest"]),
)
involved_objects = st.fixed_dictionaries(
    {"kind": maybe(st.sampled_from(["Kustomization", "HelmRelease", "GitRepository", ""]) | st.text()),
     "namespace": maybe(st.text(max_size=10)), "name": maybe(st.text(max_size=10))},
    optional={"uid": maybe(st.text(max_size=10)), "apiVersion": maybe(st.text(max_size=10))},
)
flux_bodies = st.fixed_dictionaries(
    {"involvedObject": maybe(involved_objects), "severity": maybe(st.sampled_from(["info", "error"])),
     "reason": maybe(st.sampled_from(["Progressing", "ReconciliationSucceeded", "BuildFailed"]) | st.text()),
     "message": maybe(st.text())},
    optional={
        "timestamp": maybe(st.text(max_size=30) | st.datetimes().map(lambda d: d.isoformat())),
        "metadata": maybe(st.dictionaries(metadata_keys, maybe(revisions), max_size=6)),
        "reportingController": maybe(st.text(max_size=10)),
    },
)


def rejected_in_one_line(error: EventRejected) -> None:
    assert str(error) and "\n" not in str(error)


@FAST
@given(st.one_of(json_values, flux_bodies))
def test_any_json_body_is_an_event_or_rejected(value: Any) -> None:
    try:
        parse_flux_event(json.dumps(value).encode())
    except EventRejected as error:
        rejected_in_one_line(error)


@FAST
@given(flux_bodies)
def test_near_miss_flux_dicts_are_an_event_or_rejected(value: dict[str, Any]) -> None:
    try:
        event = parse_flux_event(value)
    except EventRejected as error:
        rejected_in_one_line(error)
    else:
        assert event.fingerprint() == parse_flux_event(value).fingerprint()


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_are_an_event_or_rejected(body: bytes) -> None:
    try:
        parse_flux_event(body)
    except EventRejected as error:
        rejected_in_one_line(error)


@settings(max_examples=300, deadline=None)
@given(revisions)
def test_parse_revision_never_raises(text: str) -> None:
    revision = parse_revision(text)
    if revision is not None:
        assert isinstance(revision, Revision)
        assert revision.sha == revision.sha.lower() and len(revision.sha) in (40, 64, 96, 128)
        assert revision.ref is None or (revision.ref and not revision.ref.startswith("refs/heads/"))


# Text a store can hold: no NUL, no lone surrogate (the parsers refuse those; see below).
STORABLE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


@FAST
@given(st.text(STORABLE, max_size=200), st.text(STORABLE, max_size=200))
def test_fingerprints_are_stable_and_tell_messages_apart(first: str, second: str) -> None:
    base: dict[str, Any] = {
        "involvedObject": {"kind": "Kustomization", "namespace": "flux-system", "name": "apps"},
        "severity": "info", "reason": "Progressing", "timestamp": "2025-06-01T10:00:00Z",
        "metadata": {"revision": "main@sha1:" + "a" * 40},
    }
    one = parse_flux_event({**base, "message": first})
    assert one.fingerprint() == parse_flux_event(json.dumps({**base, "message": first})).fingerprint()
    other = parse_flux_event({**base, "message": second})
    assert (one.fingerprint() == other.fingerprint()) == (first == second)


github_payloads = st.fixed_dictionaries({
    "action": maybe(st.text(max_size=10)),
    "repository": maybe(st.fixed_dictionaries({"full_name": maybe(st.text(max_size=10))})),
    "pull_request": maybe(st.fixed_dictionaries({
        "number": maybe(st.integers()), "html_url": maybe(st.text(max_size=5)), "body": maybe(st.text()),
        "merged": maybe(st.booleans()),
        "head": maybe(st.fixed_dictionaries({"ref": st.text(), "sha": st.text()})),
        "base": maybe(st.fixed_dictionaries({"ref": st.text(), "sha": st.text()})),
    })),
    "ref": maybe(st.text(max_size=10)),
    "before": maybe(st.text(max_size=10)),
    "after": maybe(st.text(max_size=10)),
    "pusher": maybe(st.fixed_dictionaries({"name": maybe(st.text(max_size=10))})),
})


@FAST
@given(st.sampled_from(sorted(HANDLED_EVENTS)) | st.text(max_size=20), json_values | github_payloads)
def test_any_github_delivery_is_a_fact_none_or_rejected(event: str, payload: Any) -> None:
    try:
        parse_github_event(event, json.dumps(payload).encode())
    except EventRejected as error:
        rejected_in_one_line(error)


@FAST
@given(st.binary(max_size=300), st.text(min_size=1, max_size=40), st.sampled_from(sorted(FLUX_ALGORITHMS)))
def test_signatures_round_trip_for_any_body_and_key(body: bytes, key: str, algorithm: str) -> None:
    header = flux_signature(body, key, algorithm)
    assert verify_flux_signature(body, header, key)
    assert not verify_flux_signature(body + b"\x00", header, key)
    # (not `key + "\x00"`: HMAC pads short keys with zero bytes, so that one is the same key)
    assert not verify_flux_signature(body, header, key + "x")
    assert verify_github_signature(body, github_signature(body, key), key)
    assert not verify_github_signature(body + b"\x00", github_signature(body, key), key)


@FAST
@given(st.binary(max_size=100), st.one_of(st.none(), st.text(max_size=200)), st.text(max_size=20))
def test_signature_checks_never_raise(body: bytes, header: str | None, key: str) -> None:
    assert verify_flux_signature(body, header, key) in (True, False)
    assert verify_github_signature(body, header, key) in (True, False)
