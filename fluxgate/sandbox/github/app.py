"""The emulated GitHub as one ASGI app: REST endpoints, git over HTTP, and a `/_sandbox` admin API.

The admin API sets the stage for tests and the demo (repositories, tokens, apps, branch protection,
hooks), plays the Actions runner (completes workflow runs) and observes it (the request log, injected
faults, pending webhook deliveries, workflow runs). It has no authentication: the sandbox listens on
localhost and holds nothing secret.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluxgate.sandbox.github import api_actions, api_activity, api_git, api_hooks, api_pulls, smart_http
from fluxgate.sandbox.github.emulator import Emulator, Fault, RequestRecord
from fluxgate.sandbox.github.http import credential_of
from fluxgate.sandbox.github.rate_limits import Admission

__all__ = ["create_app"]

_CONVERTER = re.compile(r":(int|path|str)}")
# Fields of an answered JSON object the request listing repeats (with `record_bodies`): what a commit
# status, a Deployment or a deployment status was, to count repeated side effects.
_LISTED = ("context", "state", "description", "environment", "sha")


class RecordAndFault:
    """Logs every answered request with its route template, puts GitHub's rate limits on the REST API
    (headers on every answer; a write past a secondary limit refused before anything else), and answers
    injected faults first: instead of the endpoint, or (`Fault.swallow`) after it, dropping its answer."""

    def __init__(self, app: ASGIApp, emulator: Emulator, routes: list[BaseRoute],
                 git_routes: Sequence[BaseRoute]) -> None:
        self.app, self.emulator, self.routes, self.git_routes = app, emulator, routes, git_routes

    def _route(self, scope: Scope) -> Route | None:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL and isinstance(route, Route):
                return route
        return None

    def _admit(self, scope: Scope) -> Admission:
        """The rate limiter's verdict on a REST request, by the credential it carries (only a token the
        emulator accepts has a quota of its own and secondary windows)."""
        headers = Headers(scope=scope)
        credential = credential_of(headers.get("authorization", ""))
        token = credential if credential and self.emulator.grant(credential) is not None else None
        client = scope.get("client")
        free = scope["method"] == "GET" and scope["path"] == "/rate_limit"  # GitHub does not count it
        return self.emulator.rate_limits.admit(scope["method"], token, client[0] if client else "", not free)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        client = scope.get("client")
        template = str(_CONVERTER.sub("}", route.path)) if route is not None else str(scope["path"])
        record = RequestRecord(scope["method"], scope["path"], template, 0,
                               scope.get("query_string", b"").decode(),
                               client=f"{client[0]}:{client[1]}" if client else "")
        if self.emulator.latency:
            await asyncio.sleep(self.emulator.latency)  # like GitHub's round trip; other requests go on
        admission = None if route in self.git_routes else self._admit(scope)  # git has no rate-limit headers
        limited = send if admission is None else _with_headers(send, admission.headers)
        chunks: list[bytes] = []

        def recording(target: Send) -> Send:
            async def recording_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    record.status, record.at = message["status"], time.time()
                    self.emulator.requests.append(record)  # before the client can read the answer
                elif message["type"] == "http.response.body" and self.emulator.record_bodies:
                    chunks.append(message.get("body", b""))
                if not record.swallowed:
                    await target(message)

            return recording_send

        if admission is not None and admission.refusal is not None:
            record.rate_limited = True
            status, refusal = admission.refusal
            await JSONResponse(refusal, status_code=status)(scope, receive, recording(limited))
        else:
            await self._answer(scope, receive, send, recording(limited), recording(send), record)
        if chunks and b"".join(chunks).strip():
            try:
                record.body = json.loads(b"".join(chunks))
            except ValueError:
                record.body = None

    async def _answer(self, scope: Scope, receive: Receive, send: Send, endpoint_send: Send,
                      fault_send: Send, record: RequestRecord) -> None:
        """The endpoint's answer (with the rate-limit headers), or an injected fault's instead of it or
        after it. A fault's answer carries only the headers it was given: it plays a failure in front of
        the API (a proxy's 502, a test's own `X-RateLimit-Remaining: 0`)."""
        fault = self.emulator.take_fault(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, endpoint_send)
            return
        body = {"message": fault.message, "documentation_url": "https://docs.github.com/rest"}
        response: ASGIApp = JSONResponse(body, status_code=fault.status, headers=fault.headers)
        if fault.swallow is None:
            await response(scope, receive, fault_send)
        else:  # carry it out, drop the answer, and fail late: the caller cannot know it happened
            record.swallowed = True
            await self.app(scope, receive, endpoint_send)
            await asyncio.sleep(fault.swallow)
            await response(scope, receive, send)


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    """`send`, adding `headers` to the answer's start (those the answer sets itself win)."""
    extra = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {bytes(name).lower() for name, _ in message.get("headers", [])}
            added = [(name, value) for name, value in extra if name not in present]
            message = {**message, "headers": [*message.get("headers", []), *added]}
        await send(message)

    return sending


async def _admin_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    return json.loads(raw) if raw else {}


def _admin_routes(emulator: Emulator) -> list[BaseRoute]:
    async def repos(request: Request) -> Response:
        body = await _admin_body(request)
        try:
            emulator.create_repo(body["full_name"], body.get("default_branch", "main"), body.get("files"))
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=422)
        return JSONResponse({"full_name": body["full_name"]}, status_code=201)

    async def tokens(request: Request) -> Response:
        body = await _admin_body(request)
        emulator.add_token(body["token"], body["login"], body.get("write", True))
        return Response(status_code=204)

    async def apps(request: Request) -> Response:
        body = await _admin_body(request)
        emulator.add_app(body["id"], body["slug"], body["public_key"], body["installations"],
                         body.get("token_ttl", 3600))
        return Response(status_code=204)

    async def protect(request: Request) -> Response:
        body = await _admin_body(request)
        emulator.protect_branch(body["full_name"], body["branch"], body.get("approvals", 1))
        return Response(status_code=204)

    async def faults(request: Request) -> Response:
        body = await _admin_body(request)
        emulator.inject(*(Fault(**item) for item in body.get("faults", [])))
        return Response(status_code=204)

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            emulator.requests.clear()
            return Response(status_code=204)
        since = int(request.query_params.get("since", 0))  # poll from where you were (it grows until DELETE)
        return JSONResponse(
            [
                {
                    "method": r.method,
                    "path": r.path,
                    "route": r.route,
                    "status": r.status,
                    "at": r.at,
                    "client": r.client,
                    **({"swallowed": True} if r.swallowed else {}),
                    **({"rate_limited": True} if r.rate_limited else {}),
                    **({k: r.body[k] for k in _LISTED if k in r.body} if isinstance(r.body, dict) else {}),
                }
                for r in emulator.requests[since:]
            ]
        )

    async def workflow_runs(request: Request) -> Response:
        """GET ?repo=owner/name: runs with their inputs; POST {full_name, run_id, conclusion}: finish one."""
        if request.method == "GET":
            runs = emulator.workflow_runs(request.query_params["repo"])
            return JSONResponse([run.model_dump() for run in runs])
        body = await _admin_body(request)
        try:
            run = emulator.complete_workflow_run(body["full_name"], body["run_id"],
                                                 body.get("conclusion", "success"))
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=422)
        return JSONResponse(run.model_dump())

    async def settle(request: Request) -> Response:
        done = emulator.dispatcher.settle(float(request.query_params.get("timeout", 30)))
        return JSONResponse({"settled": done})

    return [
        Route("/_sandbox/repos", repos, methods=["POST"]),
        Route("/_sandbox/tokens", tokens, methods=["POST"]),
        Route("/_sandbox/apps", apps, methods=["POST"]),
        Route("/_sandbox/protect", protect, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["POST"]),
        Route("/_sandbox/requests", requests, methods=["GET", "DELETE"]),
        Route("/_sandbox/workflow-runs", workflow_runs, methods=["GET", "POST"]),
        Route("/_sandbox/settle", settle, methods=["POST"]),
    ]


def create_app(emulator: Emulator) -> ASGIApp:
    routes: list[BaseRoute] = [
        *api_git.routes, *api_pulls.routes, *api_activity.routes, *api_actions.routes, *api_hooks.routes,
        *smart_http.routes,
    ]
    app = Starlette(routes=[*routes, *_admin_routes(emulator)])
    app.state.emulator = emulator
    return RecordAndFault(app, emulator, routes, smart_http.routes)
