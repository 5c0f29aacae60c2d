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
    assert not_json.json()["error"] == "body: not JSON at line 1 column 2"
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


def _github_headers(event: str, body: bytes, delivery: str) -> dict[str, str]:
    from fluxgate.connector.signatures import github_signature
    from tests.connector.conftest import WEBHOOK_SECRET

    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": github_signature(body, WEBHOOK_SECRET),
    }


def _signed_webhook(connector: ConnectorProcess, event: str, body: bytes, delivery: str) -> httpx.Response:
    headers = _github_headers(event, body, delivery)
    return httpx.post(f"{connector.url}/github/webhook", content=body, timeout=10, headers=headers)


def test_deeply_nested_json_is_a_400_and_the_connection_goes_on(connector: ConnectorProcess) -> None:
    from fluxgate.connector.signatures import flux_signature
    from tests.connector.conftest import FLUX_KEY

    deep = b'{"zen":' + b"[" * 980 + b"]" * 980 + b"}"
    deeper = b'{"zen":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    ping = b'{"zen": "hi", "hook_id": 7}'
    with httpx.Client(base_url=connector.url, timeout=10) as client:  # one keep-alive connection throughout
        answers = []
        for n, body in enumerate((deep, deeper, deep)):
            github = _github_headers("ping", body, f"d{n}")
            answers.append(client.post("/github/webhook", content=body, headers=github))
            flux = {"Content-Type": "application/json", "X-Signature": flux_signature(body, FLUX_KEY)}
            answers.append(client.post("/flux/events", content=body, headers=flux))
        after = client.post("/github/webhook", content=ping, headers=_github_headers("ping", ping, "ok-1"))
    assert [a.status_code for a in answers] == [400] * 6
    errors = {a.json()["error"] for a in answers}
    assert errors <= {"body: JSON nested too deeply", "zen: expected a string", "hook_id: missing"} | {
        e for e in errors if e.startswith("involvedObject: missing")
    }, errors
    assert after.status_code == 202


def test_text_no_store_can_hold_is_refused_at_intake(
    github: RunningEmulator, connector: ConnectorProcess
) -> None:
    valid = json.dumps(kustomization_event(SHA, "Progressing", "Deployment/shop/web configured"))

    def flux_with(old: str, new: str) -> httpx.Response:
        return connector.flux(valid.replace(old, new).encode())

    pr = b'{"action": "opened", "number": 1, "repository": {"full_name": "acme/x\\ud800"}}'
    answers = {
        "reason surrogate": flux_with('"Progressing"', '"Prog\\ud800ressing"'),
        "namespace surrogate": flux_with('"flux-system"', '"flux\\udfffsystem"'),
        "reason NUL": flux_with('"Progressing"', '"Prog\\u0000ressing"'),
        "repository surrogate": _signed_webhook(connector, "pull_request", pr, "sur-1"),
        "not an object": _signed_webhook(connector, "pull_request", b'["a", "list"]', "list-1"),
        "fields missing": _signed_webhook(connector, "pull_request", b'{"action": "closed"}', "miss-1"),
        "long delivery id": _signed_webhook(connector, "ping", b'{"zen": "z", "hook_id": 1}', "d" * 10_000),
    }
    codes = {name: answer.status_code for name, answer in answers.items()}
    assert set(codes.values()) == {400}, codes
    errors = {name: answer.json()["error"] for name, answer in answers.items()}
    assert errors == {
        "reason surrogate": "reason: not valid Unicode (a lone surrogate)",
        "namespace surrogate": "involvedObject.namespace: not valid Unicode (a lone surrogate)",
        "reason NUL": "reason: contains a NUL character",
        "repository surrogate": "repository.full_name: not valid Unicode (a lone surrogate)",
        "not an object": "body: expected a JSON object, got a list",
        "fields missing": "repository: missing (and 1 more)",
        "long delivery id": "X-GitHub-Delivery: expected at most 100 printable ASCII characters",
    }
    # nothing was stored, and a valid event is still processed at once
    head = github.emulator.git(github.emulator.state.repos[connector.repo]).ref("refs/heads/main")
    assert head is not None
    answer = connector.flux(kustomization_event(head, "Progressing", "Deployment/shop/web configured"))
    assert answer.status_code == 202
    listing = connector.settle()
    assert listing["counts"] == {"done": 1}, listing
