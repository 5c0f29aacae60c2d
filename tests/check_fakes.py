"""Stand-ins for post-deploy check tests: a clock that moves only when a check sleeps, and a small
Docker engine that runs scripted "programs" instead of containers.

The engine follows `fluxgate.stage.DockerClient`. Tests assert on what a user sees (the
`CheckResult`) and on what the engine ended up with (images pulled, containers left), never on calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests
from docker.errors import ImageNotFound

__all__ = ["FakeClock", "FakeContainer", "FakeEngine", "Program"]


class FakeClock:
    """`clock` and `sleep` for a check: time passes only when the check sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Program:
    """What an image does when run: print `output` (`{VAR}` filled from its env), exit after `seconds`."""

    exit_code: int = 0
    output: list[str] = field(default_factory=list)
    seconds: float = 2.0


class FakeContainer:
    def __init__(
        self, engine: FakeEngine, image: str, command: list[str] | None, environment: dict[str, str]
    ) -> None:
        self.engine, self.image, self.command, self.environment = engine, image, command, environment
        self.program = engine.programs[image]
        self.started = engine.clock()
        self.status = "running"
        self.attrs: dict[str, Any] = {"State": {"Status": "running"}}
        self.killed = False

    def reload(self) -> None:
        if self.engine.gone:
            raise requests.exceptions.ConnectionError("Connection aborted: the engine went away")
        if self.status == "running" and self.engine.clock() - self.started >= self.program.seconds:
            self._exit(self.program.exit_code)

    def _exit(self, code: int) -> None:
        self.status = "exited"
        self.attrs = {"State": {"Status": "exited", "ExitCode": code}}

    def logs(self, *, stdout: bool, stderr: bool, tail: int) -> bytes:
        lines = [line.format(**self.environment) for line in self.program.output]
        return "".join(f"{line}\n" for line in lines[-tail:]).encode()

    def kill(self) -> None:
        self.killed = True
        self._exit(137)

    def remove(self, *, force: bool) -> None:
        self.engine.containers.live.remove(self)


class _Images:
    def __init__(self, registry: set[str]) -> None:
        self.registry = registry
        self.local: set[str] = set()
        self.pulled: list[str] = []

    def get(self, name: str) -> str:
        if name not in self.local:
            raise ImageNotFound(f"No such image: {name}")
        return name

    def pull(self, repository: str) -> str:
        if repository not in self.registry:
            raise ImageNotFound(
                "404 Client Error for http+docker://localhost/v1.47/images/create: Not Found",
                explanation=f"manifest for {repository} not found: manifest unknown",
            )
        self.pulled.append(repository)
        self.local.add(repository)
        return repository


class _Containers:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.live: list[FakeContainer] = []
        self.ran: list[FakeContainer] = []

    def run(
        self, image: str, command: list[str] | None, *, environment: dict[str, str], detach: bool
    ) -> FakeContainer:
        assert detach, "a check never blocks on an attached container"
        container = FakeContainer(self.engine, image, command, environment)
        self.live.append(container)
        self.ran.append(container)
        return container


class FakeEngine:
    """A Docker engine whose registry holds `programs` (image -> what it does)."""

    def __init__(self, clock: FakeClock, programs: dict[str, Program]) -> None:
        self.clock = clock
        self.programs = programs
        self.images = _Images(set(programs))
        self.containers = _Containers(self)
        self.gone = False
        self.closed = False

    def close(self) -> None:
        self.closed = True
