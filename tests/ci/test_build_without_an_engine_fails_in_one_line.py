"""Without a reachable Docker engine a build fails with one line saying where it looked and what it
could not build; with one (skipped here when none is reachable) it really builds."""

from __future__ import annotations

import gc
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from fluxgate.ci import CiRelease, build_images, compute_release, detect_changes
from fluxgate.errors import CiError
from fluxgate.sandbox.serving import free_port
from tests.ci.conftest import CodeRepo


@pytest.fixture
def ci(code_repo: CodeRepo, first: str) -> CiRelease:
    return compute_release(code_repo.config, detect_changes(code_repo.config, first))


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: a unix socket path must fit in 108 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="fg-ci-"))
    yield folder
    shutil.rmtree(folder)


def _closed_unix_socket(folder: Path) -> str:
    path = folder / "docker.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))  # the file stays; nobody listens on it
    return f"unix://{path}"


@pytest.mark.parametrize("where", ["missing socket", "closed socket", "closed tcp port"])
def test_no_engine_is_one_line_naming_the_host_and_the_component(
    code_repo: CodeRepo, ci: CiRelease, short_dir: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    host = {
        "missing socket": f"unix://{short_dir}/missing.sock",
        "closed socket": _closed_unix_socket(short_dir),
        "closed tcp port": f"tcp://127.0.0.1:{free_port()}",
    }[where]
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)

    with pytest.raises(CiError) as caught:
        build_images(code_repo.config, ci)

    message = str(caught.value)
    assert message.startswith(f"no Docker engine reachable at {host} (set DOCKER_HOST): cannot build api: ")
    assert message.endswith(("no such file or directory", "connection refused"))
    assert "\n" not in message and "Traceback" not in message and 'File "' not in message
    del caught
    gc.collect()  # a socket the SDK left open would surface here, as an unraisable warning


def test_nothing_to_build_needs_no_engine(
    code_repo: CodeRepo, ci: CiRelease, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    nothing = ci.model_copy(update={"built": [], "reasons": {}})

    assert build_images(code_repo.config, nothing) == []


def _engine_reachable() -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            docker.from_env().close()
        except docker.errors.DockerException:
            return False
        finally:
            gc.collect()
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _engine_reachable(), reason="no Docker engine reachable")
def test_a_real_engine_builds_the_changed_image(code_repo: CodeRepo, ci: CiRelease) -> None:
    lines: list[str] = []
    web_only = ci.model_copy(update={"built": ["web"]})

    built = build_images(code_repo.config, web_only, on_log=lines.append, push=False)

    client = docker.from_env()
    try:
        assert built[0].image_id and built[0].image_id.startswith("sha256:")
        assert any(line.startswith("web: Step 2/2 : COPY app.py") for line in lines)
        client.images.remove(built[0].ref)
    finally:
        client.close()
