"""What a CI run remembers and says: the last successful build, the outcome, and their Markdown.

Pure data for the CI flow (`flows/ci.py`) and `fluxgate ci`: the flow keeps `LastBuild` in a
Prefect Variable named by `last_build_name` and reads it back as the next run's base; the
Markdown goes into the run's artifacts, the plain lines onto the terminal.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from fluxgate.ci.changes import ComponentChanges
from fluxgate.ci.release import CiRelease

__all__ = [
    "CiOutcome",
    "LastBuild",
    "changes_markdown",
    "last_build_name",
    "outcome_lines",
    "release_markdown",
]


class LastBuild(BaseModel):
    """The commit the last successful CI run built, and the image of every component it released."""

    model_config = ConfigDict(frozen=True)

    commit: str
    images: dict[str, str] = Field(description="component -> full image reference")


class CiOutcome(BaseModel):
    """What one CI run produced: the release, what it built and kept, and the stage run it started."""

    model_config = ConfigDict(frozen=True)

    app: str
    version: str
    images: dict[str, str]
    digest: str = Field(description="sha256:<hex> of the template files")
    built: list[str] = Field(description="components built (and pushed) by this run, sorted")
    reasons: dict[str, str] = Field(description="component -> why it was built")
    stage_run: str | None = Field(default=None, description="id of the first environment's stage run")

    @classmethod
    def of(cls, ci: CiRelease, stage_run: str | None = None) -> CiOutcome:
        release = ci.release
        return cls(
            app=release.app,
            version=release.version,
            images=dict(release.images),
            digest=ci.digest,
            built=list(ci.built),
            reasons=dict(ci.reasons),
            stage_run=stage_run,
        )

    @property
    def kept(self) -> list[str]:
        return sorted(name for name in self.images if name not in self.built)


def last_build_name(app: str) -> str:
    """The Prefect Variable holding an app's last successful build: `fluxgate_ci_<app>`."""
    return "fluxgate_ci_" + re.sub(r"[^a-z0-9_]", "_", app.lower())


def changes_markdown(app: str, changes: ComponentChanges) -> str:
    """Which components changed between the last build and this commit, and the files that say so."""
    base = changes.base[:12] if changes.base else "nothing (first build)"
    lines = [f"# {app}: changes at {changes.head[:12]}", "", f"Compared with {base}.", ""]
    lines += ["| Component | Changed | Why |", "|---|---|---|"]
    for name, change in sorted(changes.components.items()):
        if changes.first_build:
            why = "first build"
        elif change.files:
            more = f" and {len(change.files) - 1} more" if len(change.files) > 1 else ""
            why = f"`{change.files[0]}`{more}"
        else:
            why = "no file of it changed"
        lines.append(f"| {name} | {'yes' if change.changed else 'no'} | {why} |")
    return "\n".join(lines) + "\n"


def release_markdown(outcome: CiOutcome) -> str:
    """The release as a table: every component's image, and whether this run built it or kept it."""
    lines = [f"# {outcome.app}@{outcome.version}", "", f"Templates: `{outcome.digest}`", ""]
    lines += ["| Component | Image | |", "|---|---|---|"]
    for name, image in sorted(outcome.images.items()):
        how = f"built ({outcome.reasons[name]})" if name in outcome.built else "kept"
        lines.append(f"| {name} | `{image}` | {how} |")
    if outcome.stage_run:
        lines += ["", f"Stage run: `{outcome.stage_run}`"]
    return "\n".join(lines) + "\n"


def outcome_lines(outcome: CiOutcome) -> list[str]:
    """The release for a terminal: one header line, then one line per component."""
    width = max((len(name) for name in outcome.images), default=0)
    lines = [f"release {outcome.app}@{outcome.version} (templates {outcome.digest})"]
    for name, image in sorted(outcome.images.items()):
        how = f"built: {outcome.reasons[name]}" if name in outcome.built else "kept"
        lines.append(f"  {name:<{width}}  {image}  ({how})")
    return lines
