"""Post-deploy checks of an environment (`verification:` in fluxgate.yaml), one of three kinds:

- HTTP (`url:`): status, body text, a JSON value, headers with `${secret:NAME}`, TLS settings;
- container (`container:`): a test image run once through the Docker engine;
- workflow (`workflow:`): a GitHub Actions workflow the stage flow dispatches and waits for.

An entry with none or several of those keys is refused with the line it is on. Run by
`fluxgate.stage.run_checks`.
"""

from __future__ import annotations

import re
import shlex
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fluxgate.config.fields import REPO_SLUG, Duration, LocatedError, StrictModel

__all__ = [
    "SECRET_REF",
    "Check",
    "ContainerCheck",
    "ContainerSpec",
    "HttpCheck",
    "JsonExpectation",
    "TlsSettings",
    "WorkflowCheck",
    "WorkflowSpec",
]

SECRET_REF = re.compile(r"\$\{secret:([^}]*)\}")
"""A secret reference, `${secret:NAME}`: resolved only when a check runs, never stored in results."""

_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _secret_refs(value: Any) -> Any:
    """Every `${secret:...}` in a string (or in the strings of a JSON body) names a secret properly."""
    if isinstance(value, dict):
        for item in value.values():
            _secret_refs(item)
    elif isinstance(value, list):
        for item in value:
            _secret_refs(item)
    elif isinstance(value, str):
        for match in SECRET_REF.finditer(value):
            if not _SECRET_NAME.match(match.group(1)):
                raise ValueError(f"{match.group(0)!r}: a secret name is letters, digits and '_'")
        if value.count("${secret:") != len(SECRET_REF.findall(value)):
            raise ValueError("a ${secret:NAME} reference is not closed")
    return value


SecretText = Annotated[str, AfterValidator(_secret_refs)]


class JsonExpectation(StrictModel):
    """A value the JSON body must hold at a dotted path (`status.ready`, `items.0.name`)."""

    path: str
    equals: Any = Field(description="the expected value, compared with its JSON type (true is not 1)")

    @field_validator("path")
    @classmethod
    def _dotted(cls, value: str) -> str:
        if not re.match(r"^[^.\s]+(\.[^.\s]+)*$", value):
            raise ValueError(f"{value!r} is not a dotted path such as status.ready or items.0.name")
        return value


class TlsSettings(StrictModel):
    """How an HTTPS check trusts the server: the system CAs (default), a CA bundle, or not at all."""

    verify: bool = True
    ca_file: str | None = Field(
        default=None, description="PEM bundle to trust; a relative path is relative to fluxgate.yaml"
    )

    @field_validator("ca_file")
    @classmethod
    def _beside_the_config(cls, value: str | None, info: ValidationInfo) -> str | None:
        root = (info.context or {}).get("root")
        if value is None or root is None or Path(value).is_absolute():
            return value
        return str(Path(root) / value)

    @model_validator(mode="after")
    def _verify_or_ca_file(self) -> TlsSettings:
        if not self.verify and self.ca_file is not None:
            raise ValueError("ca_file has no effect with verify: false; keep one of them")
        return self


class HttpCheck(StrictModel):
    """A post-deploy HTTP check: retried with backoff until it passes or its deadline passes."""

    kind: ClassVar[Literal["http"]] = "http"

    name: str | None = None
    url: Annotated[str, Field(pattern=r"^https?://")]
    method: Literal["GET", "HEAD", "POST"] = "GET"
    headers: dict[str, SecretText] = Field(default_factory=dict, description="may hold ${secret:NAME}")
    body: Annotated[str | dict[str, Any] | list[Any] | None, AfterValidator(_secret_refs)] = Field(
        default=None, description="sent with POST: text as is, a mapping or list as JSON"
    )
    expect_status: Annotated[int, Field(ge=100, le=599)] = 200
    contains: str | None = Field(default=None, description="a substring the body must contain")
    expect_json: JsonExpectation | None = Field(default=None, alias="json")
    tls: TlsSettings = TlsSettings()
    timeout: Duration = timedelta(seconds=10)
    deadline: Duration = Field(default=timedelta(minutes=2), description="keep retrying until then")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("url")
    @classmethod
    def _no_secret_in_url(cls, value: str) -> str:
        if "${secret:" in value:
            raise ValueError("a URL is shown in results: put secrets in headers or body")
        return value

    @model_validator(mode="after")
    def _body_needs_post(self) -> HttpCheck:
        if self.body is not None and self.method != "POST":
            raise LocatedError(f"a body is sent with POST only, not {self.method}", ("body",), relative=True)
        return self

    @property
    def label(self) -> str:
        return self.name or f"{self.method} {self.url}"


def _command(value: Any) -> Any:
    return shlex.split(value) if isinstance(value, str) else value


class ContainerSpec(StrictModel):
    """A test image run once against the deployed environment: exit code 0 passes."""

    image: str = Field(description="e.g. ghcr.io/acme/smoke:1.2")
    command: Annotated[list[str] | None, BeforeValidator(_command)] = None
    env: dict[str, SecretText] = Field(default_factory=dict, description="may hold ${secret:NAME}")
    timeout: Duration = timedelta(minutes=5)

    @field_validator("image")
    @classmethod
    def _one_reference(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value):
            raise ValueError(f"{value!r} is not an image reference such as ghcr.io/acme/smoke:1.2")
        return value


class ContainerCheck(StrictModel):
    """A post-deploy check that runs a test container through the Docker engine."""

    kind: ClassVar[Literal["container"]] = "container"

    name: str | None = None
    container: ContainerSpec

    @property
    def label(self) -> str:
        return self.name or f"container {self.container.image}"


class WorkflowSpec(StrictModel):
    """A GitHub Actions workflow dispatched after the deploy; its run's conclusion is the check's."""

    repo: Annotated[str | None, Field(pattern=REPO_SLUG, description="default: code_repo")] = None
    file: str = Field(description="the workflow's file name in .github/workflows, e.g. e2e.yml")
    ref: str | None = Field(default=None, description="branch or tag; default: the repo's default branch")
    inputs: dict[str, str] = Field(default_factory=dict, description="workflow_dispatch inputs")
    timeout: Duration = timedelta(minutes=30)

    @field_validator("file")
    @classmethod
    def _file_name(cls, value: str) -> str:
        if not re.match(r"^[\w.-]+\.ya?ml$", value):
            raise ValueError(f"{value!r} is not a workflow file name such as e2e.yml")
        return value


class WorkflowCheck(StrictModel):
    """A post-deploy check run by a GitHub Actions workflow, dispatched and awaited by the stage flow."""

    kind: ClassVar[Literal["workflow"]] = "workflow"

    name: str | None = None
    workflow: WorkflowSpec

    @property
    def label(self) -> str:
        return self.name or f"workflow {self.workflow.file}"


# The key that makes an entry one kind of check -> that kind. Each kind's union tag, `check[<kind>]`,
# shows in pydantic's error locations; its brackets let the loader drop it as it drops other labels.
_CHECK_KEYS = {"url": "http", "container": "container", "workflow": "workflow"}


def _one_kind(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    present = [key for key in _CHECK_KEYS if key in value]
    if len(present) > 1:
        raise LocatedError(
            f"a check is exactly one of url, container or workflow; this one has {' and '.join(present)}",
            (present[1],),
            relative=True,
        )
    if not present:
        has = f" (it has {', '.join(map(str, value))})" if value else ""
        raise ValueError(f"a check needs one of url, container or workflow{has}")
    return value


def _check_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = next((kind for key, kind in _CHECK_KEYS.items() if key in value), None)
    else:
        kind = getattr(value, "kind", None)
    return f"check[{kind}]" if kind else None


Check = Annotated[
    Annotated[HttpCheck, Tag("check[http]")]
    | Annotated[ContainerCheck, Tag("check[container]")]
    | Annotated[WorkflowCheck, Tag("check[workflow]")],
    Discriminator(
        _check_tag,
        custom_error_type="check_kind",
        custom_error_message="a check is a mapping with one of url, container or workflow",
    ),
    BeforeValidator(_one_kind),
]
"""One post-deploy check: an entry with `url:` (HTTP), `container:` or `workflow:`."""
