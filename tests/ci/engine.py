"""A fake Docker engine for build tests: it answers `fluxgate.ci.DockerApi` calls with the stream
dicts a real engine sends, keeps the images it built and the ones its registry holds, and refuses
a wrong password the way a real one does (a 401 APIError on login, a `denied` entry on push)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker.errors
import requests

PASSWORD = "s3cret-token"
DIGEST = "sha256:" + "d" * 64


def image_id(component: str) -> str:
    return "sha256:" + (component.encode().hex() * 64)[:64]


def build_ok(component: str, tag: str) -> list[dict[str, Any]]:
    short = image_id(component)[7:19]
    return [
        {"stream": "Step 1/2 : FROM scratch\n"},
        {"stream": " ---> \n"},
        {"stream": f"Step 2/2 : COPY {component}.py /{component}.py\n"},
        {"stream": f" ---> {short}\n"},
        {"aux": {"ID": image_id(component)}},
        {"stream": f"Successfully built {short}\n"},
        {"stream": f"Successfully tagged {tag}\n"},
    ]


BUILD_FAILS = [
    {"stream": "Step 1/2 : FROM python:3.12-slim\n"},
    {"status": "Pulling from library/python", "id": "3.12-slim"},
    {
        "status": "Downloading",
        "progressDetail": {"current": 512, "total": 4096},
        "progress": "[=>  ]",
        "id": "a1",
    },
    {"status": "Pull complete", "progressDetail": {}, "id": "a1"},
    {"stream": "Step 2/2 : RUN make\n"},
    {"stream": " ---> Running in 0b1c2d3e4f50\n"},
    {"stream": "make: *** No targets specified and no makefile found.  Stop.\n"},
    {
        "errorDetail": {"code": 2, "message": "The command '/bin/sh -c make' returned a non-zero code: 2"},
        "error": "The command '/bin/sh -c make' returned a non-zero code: 2",
    },
]


def push_ok(repository: str, tag: str) -> list[dict[str, Any]]:
    return [
        {"status": f"The push refers to repository [{repository}]"},
        {"status": "Preparing", "progressDetail": {}, "id": "5f70bf18a086"},
        {
            "status": "Pushing",
            "progressDetail": {"current": 512, "total": 1024},
            "progress": "[=========================>                         ]     512B/1.024kB",
            "id": "5f70bf18a086",
        },
        {"status": "Pushed", "progressDetail": {}, "id": "5f70bf18a086"},
        {"status": f"{tag}: digest: {DIGEST} size: 528"},
        {"progressDetail": {}, "aux": {"Tag": tag, "Digest": DIGEST, "Size": 528}},
    ]


def push_denied(repository: str) -> list[dict[str, Any]]:
    return [
        {"status": f"The push refers to repository [{repository}]"},
        {"status": "Preparing", "progressDetail": {}, "id": "5f70bf18a086"},
        {
            "errorDetail": {"message": "denied: permission_denied: write_package"},
            "error": "denied: permission_denied: write_package",
        },
    ]


def _api_error(status: int, message: str, explanation: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(message, response=response, explanation=explanation)


class FakeEngine:
    """Builds succeed unless a component is in `failing`; the registry wants PASSWORD."""

    def __init__(self, failing: dict[str, Any] | None = None) -> None:
        self.failing = failing or {}  # component -> stream list, or an exception to raise
        self.images: dict[str, str] = {}  # tag -> image id
        self.registry: dict[str, str] = {}  # pushed repository:tag -> digest
        self.logged_in: set[str] = set()

    def login(self, *, username: str, password: str, registry: str, reauth: bool) -> Any:
        if password != PASSWORD:
            raise _api_error(
                401,
                "401 Client Error for http+docker://localhost/v1.47/auth: Unauthorized",
                f'Get "https://{registry}/v2/": denied: denied',
            )
        self.logged_in.add(registry)
        return {"Status": "Login Succeeded"}

    def build(
        self, *, path: str, dockerfile: str, tag: str, rm: bool, decode: bool
    ) -> Iterator[dict[str, Any]]:
        component = tag.rsplit(":", 1)[0].rsplit("/", 1)[-1]
        failure = self.failing.get(component)
        if isinstance(failure, BaseException):
            raise failure
        return self._build(component, tag, failure)

    def _build(
        self, component: str, tag: str, failure: list[dict[str, Any]] | None
    ) -> Iterator[dict[str, Any]]:
        stream = failure or build_ok(component, tag)
        for entry in stream:
            if isinstance(entry, BaseException):
                raise entry
            yield entry
        if failure is None:
            self.images[tag] = image_id(component)

    def push(
        self, repository: str, *, tag: str, stream: bool, decode: bool, auth_config: dict[str, str] | None
    ) -> Iterator[dict[str, Any]]:
        if f"{repository}:{tag}" not in self.images:
            raise _api_error(
                404,
                "404 Client Error: Not Found",
                f"An image does not exist locally with the tag: {repository}",
            )
        if not auth_config or auth_config.get("password") != PASSWORD:
            yield from push_denied(repository)
            return
        yield from push_ok(repository, tag)
        self.registry[f"{repository}:{tag}"] = DIGEST
