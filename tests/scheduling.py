"""Which pytest-xdist worker runs what (`make test` runs `-n 2 --dist loadgroup`).

Work goes to the workers one unit at a time: a group, or else one test file (so module fixtures run
once). Two groups, started first because they are the longest units:

- `demo` (the demo module, marked `xdist_group("demo")`): its tests share one `make demo` run;
- `demo-postgres`: the same story on the production shape (Prefect HA on PostgreSQL and Redis, the
  connector's store on PostgreSQL), with an API server killed midway;
- `prefect`: every test on the session's Prefect server (`prefect_api`), so that only one worker
  starts a Prefect server (~20 s of CPU to migrate its database) and the other runs everything else.

pytest-xdist's own `loadgroup` does not group under pytest 9 (it renames items through an attribute
pytest 9 no longer reads), and only workers know a test's fixtures: so each worker writes the groups
it collected to a folder the controller named, and the controller's scheduler reads them.
"""

from __future__ import annotations

import json
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

__all__ = ["GROUPS_DIR", "GroupScheduling", "group_of", "new_groups_dir", "write_groups"]

GROUPS_DIR = "fluxgate_xdist_groups"  # the workerinput key naming the folder
ORDER = ("demo", "prefect", "demo-postgres")  # groups first, longest first; then files, most tests first


def group_of(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    if mark is not None:
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    if "prefect_api" in getattr(item, "fixturenames", ()):
        return "prefect"
    return None


def new_groups_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="fluxgate-xdist-groups-"))


def write_groups(folder: Path, worker: str, items: list[pytest.Item]) -> None:
    """This worker's {nodeid: group} for the grouped tests (every worker collects the same tests)."""
    groups = {item.nodeid: group for item in items if (group := group_of(item)) is not None}
    (folder / f"{worker}.json").write_text(json.dumps(groups))


class GroupScheduling(LoadScopeScheduling):
    """LoadScopeScheduling whose units are the groups the workers wrote down, else test files."""

    def __init__(self, config: pytest.Config, log: Any, folder: Path) -> None:
        super().__init__(config, log)
        self.folder = folder
        self._groups: dict[str, str] | None = None
        self._ordered = False

    def _group(self, nodeid: str) -> str | None:
        if self._groups is None:  # first asked once every worker has collected, so their files exist
            self._groups = {}
            for path in sorted(self.folder.glob("*.json")):
                self._groups.update(json.loads(path.read_text()))
        return self._groups.get(nodeid)

    def _split_scope(self, nodeid: str) -> str:
        group = self._group(nodeid)
        return f"@{group}" if group is not None else nodeid.split("::", 1)[0]

    def _assign_work_unit(self, node: Any) -> None:
        if not self._ordered:  # the queue is complete at the first assignment
            self._ordered = True
            rank = {f"@{name}": i for i, name in enumerate(ORDER)}
            units = sorted(self.workqueue.items(), key=lambda unit: rank.get(unit[0], len(ORDER)))
            self.workqueue = OrderedDict(units)  # a stable sort: files stay most tests first
        super()._assign_work_unit(node)
