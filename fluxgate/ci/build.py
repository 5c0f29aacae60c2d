"""Build and push the images a CI release needs, through the Docker engine's API (the docker SDK).

The CI flow calls `build_images` with what `compute_release` planned. It checks every Dockerfile
first, logs in to each registry that has credentials (so a wrong password fails before minutes of
building), builds every image, and pushes only when all builds succeeded, so a failed build never
leaves half a release in the registry. Each line the engine streams goes to `on_log` as it arrives.

Docker's exceptions and the `error` entries of its streams are converted here and nowhere else,
into one-line `CiError`s that name the component or the registry. Passwords go only into the
engine's auth header: never into a log line, an error or a repr.

The build context is the component's first path; its Dockerfile may live elsewhere (the SDK adds
it to the context). The SDK drives the engine's classic builder, not BuildKit.
"""

from __future__ import annotations

import os
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors
import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from fluxgate.ci.release import CiRelease
from fluxgate.config import PipelineConfig
from fluxgate.errors import CiError
from fluxgate.release import ImageRef

__all__ = ["BuiltImage", "DockerApi", "RegistryCredentials", "build_images", "registry_of"]

_DEFAULT_HOST = "unix:///var/run/docker.sock"
_DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
_DOCKER_HUB_LOGIN = "https://index.docker.io/v1/"  # the server address the engine knows Docker Hub by
_AUTH_WORDS = ("unauthorized", "denied", "authentication required", "forbidden")
_MAX_MESSAGE = 400

LogSink = Callable[[str], None]


class RegistryCredentials(BaseModel):
    """Who pushes to one registry; the password is a SecretStr so it never shows in logs or reprs."""

    model_config = ConfigDict(frozen=True)

    registry: str = Field(description="registry host, e.g. ghcr.io, docker.io or localhost:5000")
    username: str
    password: SecretStr = Field(description="password or access token")

    @property
    def host(self) -> str:
        return _normal_host(self.registry)


class BuiltImage(BaseModel):
    """One image built for the release, and where it went."""

    model_config = ConfigDict(frozen=True)

    component: str
    ref: str = Field(description="repository:tag as built")
    image_id: str | None = Field(default=None, description="the engine's image id (sha256:...)")
    digest: str | None = Field(default=None, description="registry digest once pushed")


class DockerApi(Protocol):
    """The part of `docker.APIClient` used here: a test hands in a small fake engine instead."""

    def build(
        self, *, path: str, dockerfile: str, tag: str, rm: bool, decode: bool
    ) -> Iterable[dict[str, Any]]: ...

    def push(
        self, repository: str, *, tag: str, stream: bool, decode: bool, auth_config: dict[str, str] | None
    ) -> Iterable[dict[str, Any]]: ...

    def login(self, *, username: str, password: str, registry: str, reauth: bool) -> Any: ...


def _normal_host(registry: str) -> str:
    host = registry.split("://", 1)[-1].split("/", 1)[0].lower()
    return _DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host


def registry_of(image: str) -> str:
    """The registry host of an image reference, as docker reads it (`web` and `acme/web` are Docker Hub)."""
    first, sep, _ = ImageRef.parse(image).repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return _normal_host(first)
    return _DOCKER_HUB


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 3] + "..."


def _explanation(exc: BaseException) -> str:
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        return _one_line(str(exc.explanation))
    return _one_line(str(exc))


def _unreachable_reason(exc: BaseException) -> str:
    """Why the engine could not be reached (the OS's words), freeing what the failed connect left.

    The SDK leaves the socket of a failed unix-socket connect open in its traceback frames; clearing
    them closes it now instead of in a ResourceWarning at some later, unrelated place.
    """
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        for item in chain:
            traceback.clear_frames(item.__traceback__)
    reason = next((e.strerror for e in reversed(chain) if isinstance(e, OSError) and e.strerror), None)
    return (reason or _explanation(exc).split(": ", 1)[-1]).lower()


@contextmanager
def _engine(component: str) -> Iterator[DockerApi]:
    """The engine `DOCKER_HOST` (or the default socket) names, closed afterwards; one line if none."""
    host = os.environ.get("DOCKER_HOST") or _DEFAULT_HOST
    try:
        client = docker.from_env()
    except docker.errors.DockerException as exc:
        reason = _unreachable_reason(exc)
        raise CiError(
            f"no Docker engine reachable at {host} (set DOCKER_HOST): cannot build {component}: {reason}"
        ) from exc
    try:
        yield client.api
    finally:
        client.close()


@contextmanager
def _converting(action: str, auth_hint: str = "") -> Iterator[None]:
    """Docker, HTTP and file errors raised inside become one line: `<action>: <what went wrong>`."""
    try:
        yield
    except CiError:
        raise
    except docker.errors.APIError as exc:
        hint = auth_hint if exc.status_code in (401, 403) else ""
        raise CiError(f"{action}: {_explanation(exc)}{hint}") from exc
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        raise CiError(f"{action}: {_explanation(exc)}") from exc


def _progress(entry: Mapping[str, Any]) -> str | None:
    """A status entry as a log line; None for progress-bar ticks, which would flood the log."""
    status = entry.get("status")
    if not status or entry.get("progress") or (entry.get("progressDetail") or {}).get("current"):
        return None
    return f"{entry['id']}: {status}" if entry.get("id") else str(status)


def _check_sources(config: PipelineConfig, ci: CiRelease) -> dict[str, tuple[Path, Path]]:
    """Each built component's context folder and Dockerfile, checked before any engine is asked."""
    sources: dict[str, tuple[Path, Path]] = {}
    for name in ci.built:
        component = config.components[name]
        context = config.root / component.paths[0]
        dockerfile = config.root / component.dockerfile_path
        if not context.is_dir():
            raise CiError(f"cannot build {name}: its folder {component.paths[0]} is not in {config.root}")
        if not dockerfile.is_file():
            raise CiError(f"cannot build {name}: Dockerfile {component.dockerfile_path} not found")
        sources[name] = (context, dockerfile)
    return sources


def _login(api: DockerApi, credentials: RegistryCredentials, on_log: LogSink) -> dict[str, str]:
    """Log in once, so bad credentials fail before any build; the auth config for pushes."""
    host = credentials.host
    address = _DOCKER_HUB_LOGIN if host == _DOCKER_HUB else host
    password = credentials.password.get_secret_value()
    with _converting(f"login to registry {host} as {credentials.username!r} failed"):
        api.login(username=credentials.username, password=password, registry=address, reauth=True)
    on_log(f"{host}: logged in as {credentials.username}")
    return {"username": credentials.username, "password": password, "serveraddress": address}


def _build_one(api: DockerApi, name: str, ref: str, source: tuple[Path, Path], on_log: LogSink) -> str | None:
    """Build one image, streaming its log; the image id, or a one-line error with the last message."""
    context, dockerfile = source
    image_id: str | None = None
    error: str | None = None
    with _converting(f"docker build of {name} failed"):
        stream = api.build(path=str(context), dockerfile=str(dockerfile), tag=ref, rm=True, decode=True)
        for entry in stream:
            if "error" in entry or "errorDetail" in entry:
                error = _one_line(entry.get("error") or (entry.get("errorDetail") or {}).get("message", ""))
                on_log(f"{name}: ERROR {error}")
            elif "stream" in entry:
                for line in str(entry["stream"]).splitlines():
                    if line.strip():
                        on_log(f"{name}: {line.rstrip()}")
            elif "aux" in entry:
                image_id = (entry["aux"] or {}).get("ID") or image_id
            elif (status := _progress(entry)) is not None:
                on_log(f"{name}: {status}")
    if error is not None:
        raise CiError(f"docker build of {name} failed: {error or 'the engine gave no reason'}")
    return image_id


def _push_one(
    api: DockerApi, name: str, ref: str, auth: dict[str, str] | None, on_log: LogSink
) -> str | None:
    """Push one image; its registry digest, or a one-line error naming the registry."""
    parsed = ImageRef.parse(ref)
    registry = registry_of(ref)
    hint = f"; check the credentials for {registry}" if auth else f"; no credentials given for {registry}"
    digest: str | None = None
    with _converting(f"push of {name} ({ref}) to {registry} failed", hint):
        stream = api.push(
            parsed.repository, tag=parsed.tag or "latest", stream=True, decode=True, auth_config=auth
        )
        for entry in stream:
            if "error" in entry or "errorDetail" in entry:
                message = _one_line(entry.get("error") or (entry.get("errorDetail") or {}).get("message", ""))
                refused = any(word in message.lower() for word in _AUTH_WORDS)
                if refused:
                    raise CiError(f"registry {registry} refused the push of {name} ({ref}): {message}{hint}")
                raise CiError(f"push of {name} ({ref}) to {registry} failed: {message}")
            if "aux" in entry:
                digest = (entry["aux"] or {}).get("Digest") or digest
            elif (status := _progress(entry)) is not None:
                on_log(f"{name}: {status}")
    return digest


def _ignore(line: str) -> None:
    """The default log sink."""


def build_images(
    config: PipelineConfig,
    ci: CiRelease,
    *,
    credentials: Sequence[RegistryCredentials] = (),
    on_log: LogSink = _ignore,
    push: bool = True,
    client: DockerApi | None = None,
) -> list[BuiltImage]:
    """Build (and push) the images of `ci.built`, tagged as in `ci.release.images`.

    Args:
        config: the pipeline config (component folders and Dockerfiles).
        ci: the planned release from `compute_release`.
        credentials: one per registry pushed to; registries without any use the engine's own login.
        on_log: receives each build and push log line as it arrives, prefixed with the component.
        push: False builds only (a pull request's check).
        client: a low-level Docker API client; default: the engine of `DOCKER_HOST`.

    Returns:
        One BuiltImage per built component, in `ci.built` order.

    Raises:
        CiError: a Dockerfile is missing, no engine is reachable, a registry refuses the login or
            the push, or a build fails (with the build's last error message).
    """
    if not ci.built:
        return []
    sources = _check_sources(config, ci)
    if client is None:
        with _engine(ci.built[0]) as api:
            return _build_and_push(api, ci, sources, credentials, on_log, push)
    return _build_and_push(client, ci, sources, credentials, on_log, push)


def _build_and_push(
    api: DockerApi,
    ci: CiRelease,
    sources: dict[str, tuple[Path, Path]],
    credentials: Sequence[RegistryCredentials],
    on_log: LogSink,
    push: bool,
) -> list[BuiltImage]:
    refs = {name: ci.release.images[name] for name in ci.built}
    auths: dict[str, dict[str, str]] = {}
    if push:
        needed = {registry_of(ref) for ref in refs.values()}
        for creds in credentials:
            if creds.host in needed and creds.host not in auths:
                auths[creds.host] = _login(api, creds, on_log)
    image_ids = {name: _build_one(api, name, refs[name], sources[name], on_log) for name in ci.built}
    digests: dict[str, str | None] = {}
    if push:
        for name in ci.built:
            digests[name] = _push_one(api, name, refs[name], auths.get(registry_of(refs[name])), on_log)
    return [
        BuiltImage(component=name, ref=refs[name], image_id=image_ids[name], digest=digests.get(name))
        for name in ci.built
    ]
