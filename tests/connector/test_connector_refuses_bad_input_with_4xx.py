"""Malformed, oversized, unsigned or forged deliveries get a 4xx with a one-line reason, never a 500,
and the connector keeps working afterwards."""

from __future__ import annotations

import json

import httpx

from fluxgate.sandbox.github import RunningEmulator
from tests.connector.conftest import ConnectorProcess, kustomization_event

SHA = "40d6b21b888db0ca794876cf7bdd399e3da2137e"


def test_flux_events_without_a_valid_signature_are_refused(connector: ConnectorProcess) -> None:
    event = kustomization_event(SHA, "Progressing", "x")
    unsigned = connector.flux(event, key=None)
    forged = connector.flux(event, key="not-the-key")
    assert (unsigned.status_code, forged.status_code) == (401, 401)
    assert unsigned.json() == {"error": "X-Signature: missing or not a valid HMAC of the body"}
    assert connector.flux(event).status_code == 202


def test_github_webhooks_with_a_forged_signature_are_refused(connector: ConnectorProcess) -> None:
    answer = connector.webhook("ping", {"zen": "hi", "hook_id": 1}, "d-1", secret="wrong")
    assert answer.status_code == 401 and "X-Hub-Signature-256" in answer.json()["error"]


def test_bodies_that_are_not_events_name_what_is_wrong(connector: ConnectorProcess) -> None:
    not_json = connector.flux(b"{not json")
    no_kind = connector.flux(
        {
            "involvedObject": {"name": "x", "namespace": "y"},
            "severity": "info",
            "reason": "Progressing",
            "message": "m",
        }
    )
    wrong_type = connector.flux(kustomization_event(SHA, "Progressing", "x") | {"severity": 3})
    assert [r.status_code for r in (not_json, no_kind, wrong_type)] == [400, 400, 400]
    assert not_json.json()["error"] == "body: not JSON"
    assert no_kind.json()["error"].startswith("involvedObject.kind: missing")
    assert wrong_type.json()["error"].startswith("severity:")


def test_wrong_content_type_and_oversized_bodies(connector: ConnectorProcess) -> None:
    body = json.dumps(kustomization_event(SHA, "Progressing", "x")).encode()
    form = httpx.post(
        f"{connector.url}/flux/events",
        content=body,
        timeout=5,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    huge = kustomization_event(SHA, "Progressing", "x" * (2 * 1024 * 1024))
    assert connector.flux(huge).status_code == 413


def test_missing_github_headers_and_ignored_events(connector: ConnectorProcess) -> None:
    body = b"{}"
    no_event = httpx.post(
        f"{connector.url}/github/webhook",
        content=body,
        timeout=5,
        headers={"Content-Type": "application/json", "X-GitHub-Delivery": "d-2"},
    )
    assert no_event.status_code in (400, 401)  # unsigned: the signature check comes first
    ignored = connector.webhook("star", {"action": "created"}, "d-3")
    assert ignored.status_code == 202 and ignored.json() == {"accepted": False, "ignored": "star"}


def test_unknown_kinds_and_reasons_are_stored_and_ignored(
    github: RunningEmulator, connector: ConnectorProcess
) -> None:
    weird = kustomization_event(SHA, "SomethingNew", "a reason Flux added later")
    weird["involvedObject"]["kind"] = "ImageUpdateAutomation"
    assert connector.flux(weird).status_code == 202
    listing = connector.settle()
    assert listing["counts"] == {"ignored": 1}
    assert "ImageUpdateAutomation SomethingNew" in listing["deliveries"][0]["note"]
    assert httpx.get(f"{connector.url}/healthz", timeout=5).status_code == 200
