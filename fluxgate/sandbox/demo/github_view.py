"""The demo's closing picture: what GitHub shows for the manifests repository, read through its REST
API like any client would: the pull requests, each environment's Deployments with their status
history, and the commit statuses Flux's progress became on each merged promotion."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from rich.console import Group
from rich.table import Table
from rich.text import Text

__all__ = ["github_summary"]

_STYLE = {"success": "green", "merged": "green", "failure": "red", "error": "red", "pending": "yellow",
          "inactive": "dim"}  # fmt: skip
_MARKER = re.compile(r"<!-- fluxgate:promotion (\{.*?\}) -->")


def _get(client: httpx.Client, path: str, **params: str) -> Any:
    answer = client.get(path, params={"per_page": "100", **params})
    answer.raise_for_status()
    return answer.json()


def _state(value: str) -> Text:
    return Text(value, style=_STYLE.get(value, ""))


def _env_of(pr: dict[str, Any]) -> str:
    found = _MARKER.search(pr.get("body") or "")
    return str(json.loads(found.group(1)).get("env", "")) if found else ""


def github_summary(api: str, token: str, repo: str, envs: list[str], per_env: int = 3) -> Group:
    """Tables of the PRs, the newest `per_env` Deployments of each environment, and the statuses of
    each merged promotion's environment on its merge commit."""
    with httpx.Client(base_url=f"{api}/repos/{repo}", headers={"Authorization": f"token {token}"},
                      timeout=10) as client:  # fmt: skip
        listed = sorted(_get(client, "/pulls", state="all"), key=lambda p: p["number"])
        pulls = [_get(client, f"/pulls/{p['number']}") for p in listed]  # only these say who merged
        deployments = sorted(_get(client, "/deployments"), key=lambda d: -d["id"])
        shown = [d for env in envs for d in [d for d in deployments if d["environment"] == env][:per_env]]
        history = {d["id"]: _get(client, f"/deployments/{d['id']}/statuses") for d in shown}
        merged = [p for p in pulls if p.get("merged_at")]
        statuses = {p["number"]: _get(client, f"/commits/{p['merge_commit_sha']}/status") for p in merged}
        reviews = {p["number"]: _get(client, f"/pulls/{p['number']}/reviews") for p in pulls}

    prs = Table("#", "title", "state", "merged by", "reviews", title=f"GitHub: pull requests in {repo}",
                title_justify="left")  # fmt: skip
    for pr in pulls:
        state = "merged" if pr.get("merged_at") else pr["state"]
        by = (pr.get("merged_by") or {}).get("login", "")
        said = ", ".join(f"{r['user']['login']} {r['state'].lower()}" for r in reviews[pr["number"]])
        prs.add_row(str(pr["number"]), Text(pr["title"]), _state(state), by, said)

    deploys = Table("environment", "commit", "statuses, oldest first", "latest description",
                    title_justify="left",
                    title=f"GitHub: Deployments (newest {per_env} per environment)")  # fmt: skip
    for deployment in shown:
        steps = list(reversed(history[deployment["id"]]))  # GitHub lists statuses newest first
        trail = Text(" -> ").join(_state(s["state"]) for s in steps) if steps else Text("created")
        latest = steps[-1]["description"] if steps else deployment.get("description", "")
        deploys.add_row(deployment["environment"], deployment["sha"][:12], trail, Text(latest or ""))

    checks = Table("PR", "merge commit", "context", "state", "description", title_justify="left",
                   title="GitHub: commit statuses of each promotion's environment")  # fmt: skip
    for pr in merged:
        prefix = f"fluxgate/{_env_of(pr)}/"
        for status in sorted(statuses[pr["number"]]["statuses"], key=lambda s: s["context"]):
            if status["context"].startswith(prefix):
                checks.add_row(f"#{pr['number']}", pr["merge_commit_sha"][:12], status["context"],
                               _state(status["state"]), Text(status.get("description") or ""))  # fmt: skip
    return Group(prs, deploys, checks)
