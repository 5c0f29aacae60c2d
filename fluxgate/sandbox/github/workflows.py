"""GitHub Actions workflows as the emulator sees them: the `.github/workflows/*.yml` files of a repository.

A workflow exists when its file is on the default branch (as on GitHub, which registers workflows from
there); it gets an id the first time the emulator sees it and keeps it. A dispatch reads the file at the
ref it runs on and checks what GitHub checks before it queues a run: the `workflow_dispatch` trigger and
the inputs it declares. Used by `api_actions` (the REST endpoints) and `Emulator.add_workflow`.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from fluxgate.sandbox.github.errors import unprocessable
from fluxgate.sandbox.github.gitrepo import GitRepo
from fluxgate.sandbox.github.state import RepoRecord, SandboxState, WorkflowRecord, now

__all__ = ["WORKFLOWS", "DispatchInput", "WorkflowSpec", "check_inputs", "find", "read_spec", "spec_at",
           "sync", "workflow_yaml"]

WORKFLOWS = ".github/workflows"
MAX_INPUTS = 25  # the REST description's `maxProperties`


@dataclass(frozen=True)
class DispatchInput:
    """One `on.workflow_dispatch.inputs.<name>` entry."""

    required: bool = False
    default: Any = None
    type: str = "string"  # string | boolean | number | choice | environment
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    dispatchable: bool  # has an `on: workflow_dispatch` trigger
    inputs: dict[str, DispatchInput] = field(default_factory=dict)


def _inputs(trigger: Any) -> dict[str, DispatchInput]:
    declared = trigger.get("inputs") if isinstance(trigger, dict) else None
    if not isinstance(declared, dict):
        return {}
    found = {}
    for name, spec in declared.items():
        spec = spec if isinstance(spec, dict) else {}
        options = spec.get("options")
        found[str(name)] = DispatchInput(
            required=spec.get("required") is True, default=spec.get("default"),
            type=str(spec.get("type") or "string"),
            options=tuple(str(o) for o in options) if isinstance(options, list) else (),
        )
    return found


def read_spec(text: str, path: str) -> WorkflowSpec:
    """What a workflow file declares; one GitHub cannot parse is listed under its path, not dispatchable."""
    try:
        doc = YAML(typ="safe", pure=True).load(text)  # YAML 1.2: `on` is a key, not `true`
    except YAMLError:
        return WorkflowSpec(name=path, dispatchable=False)
    if not isinstance(doc, dict):
        return WorkflowSpec(name=path, dispatchable=False)
    declared = doc.get("name")
    name = declared if isinstance(declared, str) and declared else path
    on = doc.get("on")
    if isinstance(on, str):
        return WorkflowSpec(name=name, dispatchable=on == "workflow_dispatch")
    if isinstance(on, list):
        return WorkflowSpec(name=name, dispatchable="workflow_dispatch" in on)
    if isinstance(on, dict) and "workflow_dispatch" in on:
        return WorkflowSpec(name=name, dispatchable=True, inputs=_inputs(on["workflow_dispatch"]))
    return WorkflowSpec(name=name, dispatchable=False)


def _file(git: GitRepo, commit: str, path: str) -> str | None:
    try:
        return git.git("cat-file", "blob", f"{commit}:{path}")
    except subprocess.CalledProcessError:
        return None


def spec_at(git: GitRepo, commit: str, path: str) -> WorkflowSpec | None:
    """The workflow file `path` as it is in `commit`; None when the commit has no such file."""
    text = _file(git, commit, path)
    return None if text is None else read_spec(text, path)


def _files(git: GitRepo, commit: str) -> list[str]:
    try:
        entries = git.list_tree(f"{commit}:{WORKFLOWS}", recursive=False)
    except subprocess.CalledProcessError:  # no .github/workflows folder
        return []
    return [f"{WORKFLOWS}/{e.path}" for e in entries
            if e.type == "blob" and e.path.endswith((".yml", ".yaml"))]


def sync(state: SandboxState, record: RepoRecord, git: GitRepo) -> list[WorkflowRecord]:
    """The workflows on the default branch, registering new files and following renamed workflows."""
    head = git.ref(f"refs/heads/{record.default_branch}")
    if head is None:
        return []
    found = []
    for path in _files(git, head):
        name = read_spec(_file(git, head, path) or "", path).name
        known = record.workflows.get(path)
        if known is None:
            stamp = now()
            known = record.workflows[path] = WorkflowRecord(id=state.take_id(), path=path, name=name,
                                                            created_at=stamp, updated_at=stamp)
        elif known.name != name:
            known.name, known.updated_at = name, now()
        found.append(known)
    return found


def find(state: SandboxState, record: RepoRecord, git: GitRepo, workflow_id: str) -> WorkflowRecord | None:
    """A workflow by its id or its file name (`verify.yml`), as the REST paths name it."""
    for workflow in sync(state, record, git):
        if workflow_id == str(workflow.id) or workflow_id == workflow.path.rsplit("/", 1)[-1]:
            return workflow
    return None


def _allowed(spec: DispatchInput, value: Any) -> bool:
    if spec.type == "choice":
        return str(value) in spec.options
    if spec.type == "boolean":
        return value in (True, False, "true", "false")
    return True


def check_inputs(spec: WorkflowSpec, given: dict[str, Any]) -> None:
    """GitHub's 422s for dispatch inputs: too many, unknown, not a scalar, missing, not an allowed value."""
    if len(given) > MAX_INPUTS:
        raise unprocessable(f"Invalid request.\n\nNo more than {MAX_INPUTS} properties are allowed; "
                            f"{len(given)} were supplied.")
    unexpected = [name for name in given if name not in spec.inputs]
    if unexpected:
        raise unprocessable(f"Unexpected inputs provided: {json.dumps(unexpected)}")
    for name, value in given.items():
        if not isinstance(value, str | bool | int | float):
            raise unprocessable(f"Invalid request.\n\nFor 'properties/{name}', {json.dumps(value)[:60]} "
                                "is not a string.")
    for name, declared in spec.inputs.items():
        if declared.required and name not in given and declared.default is None:
            raise unprocessable(f"Required input '{name}' not provided")
        if name in given and not _allowed(declared, given[name]):
            raise unprocessable(f"Provided value '{given[name]}' for input '{name}' not in the list of "
                                "allowed values")


def workflow_yaml(name: str, inputs: list[str]) -> str:
    """A minimal dispatchable workflow with required string `inputs` (`Emulator.add_workflow` commits it)."""
    lines = [f"name: {json.dumps(name)}", "on:", "  workflow_dispatch:"]
    if inputs:
        lines.append("    inputs:")
        for item in inputs:
            lines += [f"      {json.dumps(item)}:", "        required: true", "        type: string"]
    step = json.dumps("echo 'no job runs in the sandbox: a test or the demo completes it'")
    lines += ["jobs:", "  run:", "    runs-on: ubuntu-latest", "    steps:", f"      - run: {step}"]
    return "\n".join(lines) + "\n"
