"""Repository webhooks (create, list, deliveries, redeliver), GitHub App installation tokens, and the
rate-limit status clients use to check their credentials."""

from __future__ import annotations

import secrets
from typing import Any

import jwt
from starlette.routing import Route

from fluxgate.sandbox.github.errors import ApiError, not_found, unprocessable
from fluxgate.sandbox.github.http import Call, endpoint
from fluxgate.sandbox.github.rate_limits import quota_key
from fluxgate.sandbox.github.state import DeliveryRecord, HookRecord, TokenGrant, now
from fluxgate.sandbox.github.views import iso
from fluxgate.sandbox.github.webhooks import attempt_id

__all__ = ["routes"]


def _hook(call: Call) -> HookRecord:
    record, _ = call.repo()
    hook = record.hooks.get(int(call.params["hook_id"]))
    if hook is None:
        raise not_found()
    return hook


def _last_code(call: Call, hook: HookRecord) -> int | None:
    for delivery in reversed(call.emulator.state.deliveries):
        if delivery.hook_id == hook.id and delivery.attempts:
            return delivery.attempts[-1].status_code
    return None


def create_hook(call: Call) -> tuple[int, Any]:
    record, _ = call.writing()
    config = call.field("config", dict)
    if not isinstance(config.get("url"), str) or not config["url"].startswith(("http://", "https://")):
        raise unprocessable("Validation Failed", resource="Hook", field="url", code="custom",
                            message="Config must have a valid url")
    hook = call.emulator.add_hook(record.full_name, config["url"], config.get("secret"),
                                  call.field("events", list, ["push"]))
    return 201, call.urls.hook(record, hook, None)


def list_hooks(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    return 200, [call.urls.hook(record, h, _last_code(call, h)) for h in record.hooks.values()]


def _delivery_items(delivery: DeliveryRecord, repo_id: int) -> list[dict[str, Any]]:
    """One item per attempt, newest first, like GitHub lists each redelivery (same `guid`, new `id`);
    a delivery not tried yet is one `pending` item."""
    common: dict[str, Any] = {"guid": delivery.guid, "event": delivery.event, "action": delivery.action,
              "installation_id": None, "repository_id": repo_id, "throttled_at": None}
    if not delivery.attempts:
        return [common | {"id": delivery.id, "delivered_at": iso(now()), "redelivery": delivery.redelivery,
                          "duration": 0, "status": "pending", "status_code": 0}]
    items = []
    for n, attempt in enumerate(delivery.attempts):
        code = attempt.status_code
        items.append(common | {
            "id": attempt_id(delivery, n), "delivered_at": iso(attempt.at),
            "redelivery": delivery.redelivery or n > 0, "duration": attempt.duration,
            "status": "OK" if 200 <= code < 300 else attempt.error or f"Invalid HTTP Response: {code}",
            "status_code": code,
        })
    return items[::-1]


def list_deliveries(call: Call) -> tuple[int, Any]:
    record, _ = call.repo()
    hook = _hook(call)
    found = [d for d in reversed(call.emulator.state.deliveries) if d.hook_id == hook.id]
    return 200, [item for d in found for item in _delivery_items(d, record.id)]


def redeliver(call: Call) -> tuple[int, Any]:
    """Send a delivery (any attempt's id) again, once, under its original GUID as GitHub does."""
    call.writing()
    hook = _hook(call)
    wanted = int(call.params["delivery_id"])
    original = next((d for d in call.emulator.state.deliveries if d.hook_id == hook.id and (
        d.id == wanted or any(attempt_id(d, n) == wanted for n in range(1, len(d.attempts))))), None)
    if original is None:
        raise not_found()
    redelivery = call.emulator.dispatcher.new_delivery(call.emulator.state.take_id(), hook, original.event,
                                                       original.payload, redelivery=True, guid=original.guid)
    call.emulator.state.deliveries.append(redelivery)
    return 202, {}


def installation_token(call: Call) -> tuple[int, Any]:
    """`POST /app/installations/{id}/access_tokens`, authenticated by the app's RS256 JWT."""
    raw = call.credential or ""
    try:
        claims = jwt.decode(raw, options={"verify_signature": False})
        app = call.emulator.state.apps.get(int(claims.get("iss", 0)))
        if app is None:
            raise ApiError(401, "Integration not found")
        jwt.decode(raw, app.public_key, algorithms=["RS256"], leeway=60)
    except jwt.PyJWTError as exc:
        raise ApiError(401, f"A JSON web token could not be decoded: {type(exc).__name__}") from None
    installation = int(call.params["installation_id"])
    if installation not in app.installations:
        raise not_found()
    token = "ghs_" + secrets.token_hex(18)
    expires = now() + app.token_ttl
    call.emulator.state.tokens[token] = TokenGrant(login=f"{app.slug}[bot]", write=True, expires_at=expires)
    return 201, {"token": token, "expires_at": iso(expires), "permissions": {"contents": "write"},
                 "repository_selection": "all"}


def rate_limit(call: Call) -> tuple[int, Any]:
    """`GET /rate_limit`: the caller's primary quota, as the `X-RateLimit-*` headers report it (never
    enforced; this request itself is not counted, as on GitHub). Needs valid credentials (401 otherwise),
    which is what a connector's readiness check relies on."""
    core = call.emulator.rate_limits.primary(quota_key(call.credential, ""))
    search = {**core, "limit": 30, "used": 0, "remaining": 30}
    return 200, {"resources": {"core": core, "search": search}, "rate": core}


R = "/repos/{owner}/{repo}"
H = R + "/hooks/{hook_id:int}"
routes = [
    Route(R + "/hooks", endpoint(create_hook), methods=["POST"]),
    Route(R + "/hooks", endpoint(list_hooks), methods=["GET"]),
    Route(H + "/deliveries", endpoint(list_deliveries), methods=["GET"]),
    Route(H + "/deliveries/{delivery_id:int}/attempts", endpoint(redeliver), methods=["POST"]),
    Route("/app/installations/{installation_id:int}/access_tokens", endpoint(installation_token, auth=False),
          methods=["POST"]),
    Route("/rate_limit", endpoint(rate_limit), methods=["GET"]),
]
