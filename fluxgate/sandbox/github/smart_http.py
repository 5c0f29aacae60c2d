"""`git clone`, `fetch` and `push` over HTTP against the emulated repositories, through `git http-backend`.

Clients authenticate like on GitHub: HTTP Basic with any user name and a token as the password
(what `git` sends from a credential helper or an `http.extraHeader`). A push is announced to
webhooks as a `push` event and moves the open pull requests of a pushed head branch, as GitHub does;
a pre-receive hook refuses pushes to protected branches (GH006).
"""

from __future__ import annotations

import gzip
import os
import subprocess
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fluxgate.sandbox.github.api_pulls import on_head_moved
from fluxgate.sandbox.github.emulator import Emulator
from fluxgate.sandbox.github.errors import ApiError
from fluxgate.sandbox.github.http import credential_of
from fluxgate.sandbox.github.payloads import push_payload
from fluxgate.sandbox.github.state import now

__all__ = ["routes"]


_PRE_RECEIVE = """#!/bin/sh
# Refuses pushes to protected branches, worded like GitHub's GH006.
status=0
while read -r old new ref; do
  for protected in $FLUXGATE_PROTECTED_REFS; do
    if [ "$ref" = "$protected" ]; then
      echo "error: GH006: Protected branch update failed for $ref." >&2
      status=1
    fi
  done
done
exit $status
"""


def _protection(emulator: Emulator, refs: list[str]) -> dict[str, str]:
    """Environment for `git http-backend` that runs a pre-receive hook refusing updates to `refs`."""
    hooks = emulator.data / "hooks"
    hook = hooks / "pre-receive"
    if not hook.exists() or hook.read_text() != _PRE_RECEIVE:
        hooks.mkdir(exist_ok=True)
        hook.write_text(_PRE_RECEIVE)
        hook.chmod(0o755)
    index = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)  # keep any config the caller passes git
    return {
        "GIT_CONFIG_COUNT": str(index + 1),
        f"GIT_CONFIG_KEY_{index}": "core.hooksPath",
        f"GIT_CONFIG_VALUE_{index}": str(hooks),
        "FLUXGATE_PROTECTED_REFS": " ".join(refs),
    }


def _cgi(emulator: Emulator, request: Request, owner: str, name: str, rest: str, body: bytes,
         login: str) -> Response:
    record, git = emulator.repo(owner, name)
    env = {
        **os.environ,
        "GIT_PROJECT_ROOT": str(git.path.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{git.path.name}/{rest}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.url.query,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": login,
        "REMOTE_ADDR": "127.0.0.1",
        "GIT_PROTOCOL": request.headers.get("git-protocol", ""),
    }
    pushing = rest == "git-receive-pack"
    before = git.refs() if pushing else {}
    if pushing and record.protected:
        env |= _protection(emulator, [f"refs/heads/{branch}" for branch in record.protected])
    result = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env, check=False)
    head, _, payload = result.stdout.partition(b"\r\n\r\n")
    if not _:
        head, _, payload = result.stdout.partition(b"\n\n")
    status, headers = 200, {}
    for line in head.decode(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.split()[0])
        elif key:
            headers[key.strip()] = value.strip()
    if pushing:
        after = git.refs()
        for ref in sorted(set(before) | set(after)):
            old, new = before.get(ref), after.get(ref)
            if old != new:
                record.pushed_at = now()
                forced = old is not None and new is not None and not git.is_ancestor(old, new)
                emulator.emit(record, "push", push_payload(emulator, record, ref, old, new, login, forced))
                if ref.startswith("refs/heads/"):
                    on_head_moved(emulator, login, record, ref.removeprefix("refs/heads/"), new)
        emulator.save()
    return Response(payload, status_code=status, headers=headers)


async def git_http(request: Request) -> Response:
    emulator: Emulator = request.app.state.emulator
    credential = credential_of(request.headers.get("authorization", ""))
    grant = emulator.grant(credential) if credential else None
    if grant is None:
        return Response("Authentication failed\n", status_code=401,
                        headers={"WWW-Authenticate": 'Basic realm="GitHub"'})
    params: dict[str, Any] = request.path_params
    rest = params["rest"]
    if "receive-pack" in rest + request.url.query and not grant.write:
        return Response("Permission denied\n", status_code=403)
    body = await request.body()
    if request.headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)

    def run() -> Response:
        with emulator.lock:
            try:
                return _cgi(emulator, request, params["owner"], params["name"], rest, body, grant.login)
            except ApiError as exc:  # the repository does not exist
                return Response(f"{exc.message}\n", status_code=exc.status)

    return await run_in_threadpool(run)


routes = [Route("/{owner}/{name}.git/{rest:path}", git_http, methods=["GET", "POST"])]
