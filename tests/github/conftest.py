"""One emulated GitHub per test session, served over real HTTP on localhost.

Each test gets its own repository (`manifests_repo`) and token, so tests never see each other's
pull requests, statuses or hooks; `calls` counts the API requests a block of code makes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fluxgate.sandbox.github import RequestRecord, RunningEmulator
from tests.conftest import READ_ONLY_TOKEN, TOKEN  # noqa: F401  (re-exported for the tests here)

_names = itertools.count(1)


class Calls:
    """The API requests made inside `with calls.counting():`."""

    def __init__(self, github: RunningEmulator) -> None:
        self.github = github
        self.made: list[RequestRecord] = []

    @contextmanager
    def counting(self) -> Iterator[list[RequestRecord]]:
        start = len(self.github.emulator.requests)
        self.made = []
        yield self.made
        self.made.extend(self.github.emulator.requests[start:])

    def routes(self) -> list[str]:
        return [f"{r.method} {r.route}" for r in self.made]


@pytest.fixture
def calls(github: RunningEmulator) -> Calls:
    return Calls(github)


@pytest.fixture
def clone(tmp_path: Path, github: RunningEmulator):  # type: ignore[no-untyped-def]
    """`git clone` of an emulated repo over smart HTTP, as a user would."""
    import subprocess

    def run(full_name: str, branch: str = "main") -> Path:
        target = tmp_path / f"clone-{next(_names)}"
        url = f"{github.url}/{full_name}.git"
        subprocess.run(
            ["git", "-c", f"http.extraHeader=Authorization: token {TOKEN}", "clone", "--quiet", "--branch",
             branch, url, str(target)],
            check=True, capture_output=True,
        )
        return target

    return run


def new_app_keys() -> tuple[str, str]:
    """A GitHub App's RSA key pair: (private PEM, public PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


app_keys = functools.cache(new_app_keys)  # one pair per session: 2048-bit keys take a while


@pytest.fixture
def app_key() -> tuple[str, str]:
    return app_keys()
