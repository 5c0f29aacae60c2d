"""Building and pushing through the engine API: the log a user follows, and the one line they get
when something fails. The engine is a fake that speaks Docker's real stream format."""

from __future__ import annotations

import pytest
import requests

from fluxgate.ci import (
    CiRelease,
    RegistryCredentials,
    build_images,
    compute_release,
    detect_changes,
    registry_of,
)
from fluxgate.errors import CiError
from tests.ci.conftest import CodeRepo
from tests.ci.engine import BUILD_FAILS, DIGEST, PASSWORD, FakeEngine, image_id

GHCR = RegistryCredentials(registry="ghcr.io", username="acme-bot", password=PASSWORD)


@pytest.fixture
def ci(code_repo: CodeRepo, first: str) -> CiRelease:
    """The first build of the repository: api, web and worker are all built."""
    return compute_release(code_repo.config, detect_changes(code_repo.config, first))


def _one_line(error: CiError) -> str:
    message = str(error)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_build_and_push_stream_every_line_and_report_what_was_pushed(
    code_repo: CodeRepo, ci: CiRelease
) -> None:
    engine, lines = FakeEngine(), list[str]()

    built = build_images(code_repo.config, ci, credentials=[GHCR], on_log=lines.append, client=engine)

    tag = ci.release.version
    assert [b.component for b in built] == ["api", "web", "worker"]
    assert built[1].ref == f"ghcr.io/acme/web:{tag}"
    assert built[1].image_id == image_id("web")
    assert built[1].digest == DIGEST
    assert set(engine.registry) == {f"ghcr.io/acme/{n}:{tag}" for n in ("api", "web", "worker")}
    assert "ghcr.io: logged in as acme-bot" in lines
    assert "web: Step 2/2 : COPY web.py /web.py" in lines
    assert f"web: Successfully tagged ghcr.io/acme/web:{tag}" in lines
    assert "web: 5f70bf18a086: Pushed" in lines
    assert not any("[=====" in line for line in lines), "progress-bar ticks would flood the log"
    assert not any(line.strip() in ("web:", "web: --->") for line in lines)


def test_a_failed_build_names_the_component_and_its_last_error_and_pushes_nothing(
    code_repo: CodeRepo, ci: CiRelease
) -> None:
    engine, lines = FakeEngine(failing={"worker": BUILD_FAILS}), list[str]()

    with pytest.raises(CiError) as caught:
        build_images(code_repo.config, ci, credentials=[GHCR], on_log=lines.append, client=engine)

    assert _one_line(caught.value) == (
        "docker build of worker failed: The command '/bin/sh -c make' returned a non-zero code: 2"
    )
    assert "worker: make: *** No targets specified and no makefile found.  Stop." in lines
    assert "worker: 3.12-slim: Pulling from library/python" in lines
    assert "worker: a1: Pull complete" in lines
    assert engine.registry == {}, "a release is pushed only when every image built"


def test_an_engine_error_during_the_build_is_one_line(code_repo: CodeRepo, ci: CiRelease) -> None:
    lost = requests.ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed'))")
    engine = FakeEngine(failing={"api": [{"stream": "Step 1/2 : FROM scratch\n"}, lost]})

    with pytest.raises(CiError) as caught:
        build_images(code_repo.config, ci, client=engine, push=False)

    assert _one_line(caught.value).startswith("docker build of api failed: ('Connection aborted.'")


def test_wrong_credentials_fail_before_any_build_naming_the_registry(
    code_repo: CodeRepo, ci: CiRelease
) -> None:
    engine, lines = FakeEngine(), list[str]()
    wrong = RegistryCredentials(registry="https://ghcr.io", username="acme-bot", password="not-the-token")

    with pytest.raises(CiError) as caught:
        build_images(code_repo.config, ci, credentials=[wrong], on_log=lines.append, client=engine)

    message = _one_line(caught.value)
    assert message == (
        "login to registry ghcr.io as 'acme-bot' failed: Get \"https://ghcr.io/v2/\": denied: denied"
    )
    assert engine.images == {}
    assert "not-the-token" not in message + "".join(lines) + repr(wrong) + str(wrong)


def test_a_push_the_registry_denies_is_one_line_naming_the_registry(
    code_repo: CodeRepo, ci: CiRelease
) -> None:
    engine = FakeEngine()

    with pytest.raises(CiError) as caught:
        build_images(code_repo.config, ci, client=engine)

    assert _one_line(caught.value) == (
        f"registry ghcr.io refused the push of api (ghcr.io/acme/api:{ci.release.version}): "
        "denied: permission_denied: write_package; no credentials given for ghcr.io"
    )


def test_build_only_neither_logs_in_nor_pushes(code_repo: CodeRepo, ci: CiRelease) -> None:
    engine = FakeEngine()

    built = build_images(code_repo.config, ci, credentials=[GHCR], client=engine, push=False)

    assert [b.digest for b in built] == [None, None, None]
    assert len(engine.images) == 3
    assert engine.registry == {} and engine.logged_in == set()


def test_a_missing_dockerfile_fails_before_the_engine_is_asked(code_repo: CodeRepo, ci: CiRelease) -> None:
    (code_repo.root / "docker/worker.Dockerfile").unlink()
    engine = FakeEngine()

    with pytest.raises(
        CiError, match=r"^cannot build worker: Dockerfile docker/worker\.Dockerfile not found$"
    ):
        build_images(code_repo.config, ci, credentials=[GHCR], client=engine)
    assert engine.images == {} and engine.logged_in == set()


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("ghcr.io/acme/web:1.0", "ghcr.io"),
        ("localhost:5000/web", "localhost:5000"),
        ("acme/web", "docker.io"),
        ("web:1.0", "docker.io"),
        ("registry-1.docker.io/acme/web", "docker.io"),
    ],
)
def test_images_are_pushed_to_the_registry_their_name_says(image: str, registry: str) -> None:
    assert registry_of(image) == registry
