"""How an emulated endpoint is written: a plain function of one `Call`, run under the emulator's lock.

`endpoint()` does the parts every GitHub endpoint shares: authentication (`Authorization: token|Bearer`),
JSON body parsing, GitHub-shaped errors, and the request log.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fluxgate.sandbox.github.emulator import Emulator
from fluxgate.sandbox.github.errors import ApiError
from fluxgate.sandbox.github.gitrepo import GitRepo
from fluxgate.sandbox.github.state import RepoRecord, TokenGrant
from fluxgate.sandbox.github.views import Urls

__all__ = ["Call", "credential_of", "endpoint", "json_response"]

_MISSING = object()


@dataclass
class Call:
    emulator: Emulator
    urls: Urls
    grant: TokenGrant | None
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    credential: str | None = None  # the raw token or JWT from `Authorization`

    @property
    def actor(self) -> str:
        return self.grant.login if self.grant else "ghost"

    def repo(self) -> tuple[RepoRecord, GitRepo]:
        return self.emulator.repo(self.params["owner"], self.params["repo"])

    def writing(self) -> tuple[RepoRecord, GitRepo]:
        """The repo, for an endpoint that changes it: read-only tokens get GitHub's 403."""
        found = self.repo()
        if self.grant is not None and not self.grant.write:
            raise ApiError(403, "Resource not accessible by personal access token")
        return found

    def field(self, name: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        body = self.body if isinstance(self.body, dict) else {}
        if name not in body:
            if default is _MISSING:
                raise ApiError(422, f'Invalid request.\n\n"{name}" wasn\'t supplied.')
            return default
        value = body[name]
        if value is not None and not isinstance(value, kind):
            shown = json.dumps(value)[:60]
            raise ApiError(422, f"Invalid request.\n\nFor '{name}', {shown} is not a valid value.")
        return value


def credential_of(header: str) -> str | None:
    """The token in `Authorization: token X`, `Bearer X` or `Basic base64(user:X)` (what git sends); like
    GitHub, Basic also takes the token as the user name with an empty or `x-oauth-basic` password."""
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme in ("token", "bearer") and value:
        return value.strip()
    if scheme == "basic" and value:
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        return (user if password in ("", "x-oauth-basic") else password) or None
    return None


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status_code=204, headers=dict(headers or {}))
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def endpoint(handler: Callable[[Call], tuple[int, Any]], *, auth: bool = True) -> Callable[[Request], Any]:
    async def run(request: Request) -> Response:
        emulator: Emulator = request.app.state.emulator
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            return json_response(400, {"message": "Problems parsing JSON", "documentation_url": ""})
        credential = credential_of(request.headers.get("authorization", ""))
        grant = emulator.grant(credential) if credential else None
        call = Call(emulator, Urls(str(request.base_url)), grant, request.path_params, request.query_params,
                    body, credential)

        def locked() -> tuple[int, Any]:
            with emulator.lock:
                if auth and call.grant is None:
                    raise ApiError(401, "Bad credentials" if credential else "Requires authentication")
                result = handler(call)
                if request.method != "GET":
                    emulator.save()
                return result

        try:
            status, answer = await run_in_threadpool(locked)
        except ApiError as error:
            return json_response(error.status, error.body(), error.headers)
        return json_response(status, answer)

    run.__name__ = handler.__name__
    return run
