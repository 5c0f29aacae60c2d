"""Session-wide real servers shared by test packages: one Prefect server (SQLite) and one emulated
GitHub per test session; each test gets its own repository in it (`manifests_repo`).

Under pytest-xdist (`make test` runs `-n 2 --dist loadgroup`) a session is one worker: each worker
starts the servers it needs. Every test that needs the Prefect server is sent to one worker (group
`prefect`, see tests/scheduling.py), so only one server starts and migrates its database.
"""

from __future__ import annotations

import itertools
import os
import shutil
import ssl
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from hypothesis import settings

from fluxgate.sandbox.github import RunningEmulator, start_in_thread
from fluxgate.sandbox.prefect_server import seed_database, server_command, server_env
from fluxgate.sandbox.serving import free_port
from tests.scheduling import GROUPS_DIR, GroupScheduling, new_groups_dir, write_groups
from tests.servers import wait_until_up

# Hypothesis: the default profile locally; on CI (`CI` set, or HYPOTHESIS_PROFILE=ci) no deadline, since a
# loaded 2-core machine running two workers makes a 200 ms deadline flaky. The tests that matter already
# set their own example counts (the whole Hypothesis part takes ~9 s), so the CI profile keeps them.
settings.register_profile("ci", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))

# -- pytest-xdist: groups of tests that share a worker (see tests/scheduling.py) ---------------------
_GROUPS = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("dist", "no") != "no" and not hasattr(config, "workerinput"):
        config.stash[_GROUPS] = new_groups_dir()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _GROUPS in config.stash:
        shutil.rmtree(config.stash[_GROUPS], ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput[GROUPS_DIR] = str(node.config.stash[_GROUPS])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> GroupScheduling | None:
    if config.getoption("dist") != "loadgroup":
        return None
    return GroupScheduling(config, log, config.stash[_GROUPS])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    worker: dict[str, Any] = getattr(config, "workerinput", {})
    if GROUPS_DIR in worker:
        write_groups(Path(worker[GROUPS_DIR]), worker["workerid"], items)


@pytest.fixture(scope="session", autouse=True)
def one_tls_context_per_trust_setting() -> Iterator[None]:
    """httpx builds a TLS context from certifi's CA bundle (~35 ms of CPU) for every client, even one
    that only talks plain HTTP to 127.0.0.1; the tests' polls, the in-process connector's sweeps and
    Prefect's clients make thousands a session. In this process, clients that ask for the default
    verification share one context per trust setting (a context is safe to share); a client given
    its own context or `verify=False` is left alone."""
    import httpx._transports.default as transports

    build = transports.create_ssl_context
    built: dict[tuple[str | None, str | None] | None, ssl.SSLContext] = {}

    def shared(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if verify is not True or cert is not None:
            return build(verify=verify, cert=cert, trust_env=trust_env)
        trust = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")) if trust_env else None
        if trust not in built:
            built[trust] = build(verify=True, cert=None, trust_env=trust_env)
        return built[trust]

    transports.create_ssl_context = shared
    yield
    transports.create_ssl_context = build


@pytest.fixture(scope="session", autouse=True)
def own_temp_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """TMPDIR of this session (and of the processes it starts) under its pytest temp folder. The
    gateway's git cache (`<tmp>/fluxgate-git/<owner>/<repo>.git`) is keyed by repository name, and
    every session's emulated GitHub names its repositories alike: another xdist worker, or a test run
    of another checkout on this machine, must not fetch into the same cache."""
    folder = tmp_path_factory.mktemp("tmp")
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # `gettempdir()` caches its first answer
    yield
    if before is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = before
    tempfile.tempdir = None


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("prefect")
    seed_database(home)
    port = free_port()
    server = subprocess.Popen(
        server_command(port),
        env={**os.environ, **server_env(home), "PREFECT_UI_ENABLED": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"
    wait_until_up(f"{url}/health", server, "prefect server", timeout=90)
    yield url
    server.terminate()
    server.wait(timeout=30)


POSTGRES = os.environ.get("FLUXGATE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _services_required() -> bool:
    """`make test` (what CI runs) sets FLUXGATE_REQUIRE_SERVICES=1: a test that needs PostgreSQL fails
    there instead of skipping, so CI never passes without having run it."""
    return os.environ.get("FLUXGATE_REQUIRE_SERVICES", "") not in ("", "0")


def _unavailable(message: str) -> NoReturn:
    """A service the test needs is missing: one line, a skip; a failure where it is required (CI)."""
    if _services_required():
        pytest.fail(message + " (FLUXGATE_REQUIRE_SERVICES is set)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The machine's PostgreSQL 15 (127.0.0.1:5432, trust auth), or a skip saying so in one line."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
    except Exception as error:
        _unavailable(f"PostgreSQL not reachable at {POSTGRES}: {str(error).splitlines()[0]}")
    finally:
        engine.dispose()
    return POSTGRES


REDIS = os.environ.get("FLUXGATE_TEST_REDIS", "redis://127.0.0.1:6379/9")


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The machine's Redis 7 (127.0.0.1:6379), on a database of the tests' own, emptied first; or a
    skip saying so in one line (a failure when FLUXGATE_REQUIRE_SERVICES is set)."""
    import redis

    client = redis.Redis.from_url(REDIS, socket_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as error:
        _unavailable(f"Redis not reachable at {REDIS}: {error}")
    finally:
        client.close()
    return REDIS


def kubectl_path() -> str:
    """kubectl, whose built-in kustomize renders deploy/kubernetes (`make test` installs it where it can),
    or a skip / failure."""
    found = shutil.which("kubectl")
    if found is None:
        _unavailable("kubectl is not installed (apt-get install kubernetes-client)")
    return found


def haproxy_installed() -> None:
    """HAProxy (Debian's package; `make test` installs it where it can), or a skip / failure."""
    if shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists():
        return
    _unavailable("HAProxy is not installed (apt-get install haproxy): the Prefect HA test needs it")


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test (dropped after it): `postgresql+psycopg://.../fluxgate_<hex>`."""
    import sqlalchemy

    name = f"fluxgate_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


TOKEN = "ghp_sandboxtoken0000000000000000000000"
READ_ONLY_TOKEN = "ghp_readonly0000000000000000000000000"
_names = itertools.count(1)


@pytest.fixture(scope="session")
def github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = start_in_thread(tmp_path_factory.mktemp("github"), webhook_backoff=0.05, record_bodies=True)
    running.emulator.add_token(TOKEN, "fluxgate-bot")
    running.emulator.add_token(READ_ONLY_TOKEN, "reader", write=False)
    running.emulator.add_token("ghp_reviewer", "alice")
    yield running
    running.stop()


@pytest.fixture
def manifests_repo(github: RunningEmulator) -> str:
    """A fresh `acme/manifests-N` with one commit on main."""
    name = f"acme/manifests-{next(_names)}"
    github.emulator.create_repo(name, files={"README.md": "# manifests\n"})
    return name
