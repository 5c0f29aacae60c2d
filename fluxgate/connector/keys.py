"""Every key the connector records in the store's `effects` table, spelled once.

The table is the connector's memory between deliveries and across restarts: side effects already
done (so a re-processed delivery posts nothing twice), facts kept until a waiting stage asks for
them, and small caches. A key's prefix says what it is; its value is the text shown here.

| key                                          | value                          | written by          |
|----------------------------------------------|--------------------------------|---------------------|
| `fact:merge:<repo>#<n>`                      | `MergeFact` JSON               | GitHub reconciler,  |
|                                              |                                | auto-merger, watchdog |
| `fact:workflow:<repo>#<run id>`              | `WorkflowOutcome` JSON         | GitHub reconciler   |
| `checks-passed:<repo>@<sha>`                 | epoch seconds                  | GitHub reconciler   |
| `triggered:<app>@<version>`                  | what was started               | GitHub reconciler   |
| `deployment:<repo>:<env>:<sha>`              | Deployment id                  | Flux / GitHub reconcilers |
| `stage-deployment:<deployment id>`           | the stage's version            | GitHub reconciler   |
| `deployment-state:<repo>:<deployment id>`    | last Deployment state posted   | Flux reconciler     |
| `status:<repo>:<sha>:<context>`              | last commit state posted       | Flux reconciler     |
| `dispatch:<code repo>:<env>:<sha>:<event>`   | the event sent                 | Flux reconciler     |
| `ancestor:<repo>:<sha>:<revision>`           | `1` or `0`                     | Flux reconciler     |
| `resumed:<run id>:<pause key>`               | the run input JSON             | resumer             |
| `automerge:<run id>`                         | epoch seconds of the last try  | auto-merger         |
| `watchdog:<run id>:<pause key>`              | epoch seconds of the last look | watchdog            |
"""

from __future__ import annotations

__all__ = [
    "MERGE_FACTS",
    "ancestor",
    "automerge_try",
    "checks_passed",
    "deployment",
    "deployment_state",
    "dispatch",
    "merge_fact",
    "resumed",
    "stage_deployment",
    "status",
    "triggered",
    "watchdog_look",
    "workflow_fact",
]

MERGE_FACTS = "fact:merge:"  # the prefix of every kept merge fact (listed to find a revision's release)


def merge_fact(repo: str, number: int) -> str:
    return f"{MERGE_FACTS}{repo}#{number}"


def workflow_fact(repo: str, run_id: int) -> str:
    return f"fact:workflow:{repo}#{run_id}"


def checks_passed(repo: str, sha: str) -> str:
    return f"checks-passed:{repo}@{sha}"


def triggered(release: str) -> str:
    return f"triggered:{release}"


def deployment(repo: str, env: str, sha: str) -> str:
    return f"deployment:{repo}:{env}:{sha}"


def stage_deployment(deployment_id: int) -> str:
    return f"stage-deployment:{deployment_id}"


def deployment_state(repo: str, deployment_id: int) -> str:
    return f"deployment-state:{repo}:{deployment_id}"


def status(repo: str, sha: str, context: str) -> str:
    return f"status:{repo}:{sha}:{context}"


def dispatch(code_repo: str, env: str, sha: str, event: str) -> str:
    return f"dispatch:{code_repo}:{env}:{sha}:{event}"


def ancestor(repo: str, sha: str, revision: str) -> str:
    return f"ancestor:{repo}:{sha}:{revision}"


def resumed(run_id: object, pause_key: object) -> str:
    return f"resumed:{run_id}:{pause_key}"


def automerge_try(run_id: object) -> str:
    return f"automerge:{run_id}"


def watchdog_look(run_id: object, pause_key: object) -> str:
    return f"watchdog:{run_id}:{pause_key}"
