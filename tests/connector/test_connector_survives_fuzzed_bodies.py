"""Ten thousand correctly signed, mangled bodies per endpoint: every one is answered 2xx or 4xx, none
breaks a connection, nothing accepted stays pending, and a valid Flux event still reaches GitHub.

The signature check comes first on both endpoints, so only a signed body reaches the parsers and the
inbox: every case here is signed with the test keys, then sent over real HTTP (keep-alive connections,
`CONCURRENCY` in flight) to the in-process connector of `tests/connector/conftest.py`. Bodies start
from valid deliveries (`kustomization_event` for Flux; the smallest of GitHub's own examples of each
handled event, from `@octokit/webhooks-examples`) and get one to three mutations: types swapped, keys
dropped or added, huge strings and numbers, deep nesting, NUL characters and lone surrogates (as JSON
escapes), invalid UTF-8, truncation, non-object JSON, empty bodies, wrong content types, bodies over
the limit, chunked uploads, and for GitHub missing, unknown, very long and repeated header values.

Every case is rebuilt from `(SEED, endpoint, index)` alone: a failure names the case
(`flux#1234`) and its mutations, and `case_builder(bases)("flux", 1234)` makes the same request again
(Flux bodies carry the test repository's head commit, so only that differs from run to run). The
closing lines print the figures: bodies sent per endpoint and the status codes answered.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest

from fluxgate.sandbox.github import RunningEmulator
from tests.connector.conftest import ConnectorProcess, kustomization_event
from tests.connector.fuzzing import (
    CASES_PER_ENDPOINT,
    DEV_CONTEXT,
    PATHS,
    SEED,
    SETTLE_TIMEOUT,
    Tally,
    case_builder,
    flux_bases,
    github_bases,
    interleaved,
    send_all,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]  # ~35 s alone; `make test` shares 2 cores


# --- after the fuzz ----------------------------------------------------------------------------------


def _head(github: RunningEmulator, repo: str) -> str:
    sha = github.emulator.git(github.emulator.state.repos[repo]).ref("refs/heads/main")
    assert sha
    return sha


def _dev_status(github: RunningEmulator, repo: str, sha: str) -> tuple[str, str | None] | None:
    found = [
        s for s in github.emulator.state.repos[repo].statuses if s.sha == sha and s.context == DEV_CONTEXT
    ]
    return (found[-1].state, found[-1].description) if found else None


def settled_problems(connector: ConnectorProcess, tally: Tally) -> list[str]:
    """Whatever is wrong with the inbox once the fuzz is over: deliveries still pending, states other
    than done/ignored/failed, or a count that differs from the fresh acceptances answered."""
    try:
        listing = connector.settle(timeout=SETTLE_TIMEOUT)
    except AssertionError:
        pending = httpx.get(f"{connector.url}/deliveries", params={"state": "pending"}, timeout=10).json()
        notes = Counter(str(d["note"])[:160] for d in pending["deliveries"])
        return [
            f"seed {SEED}: deliveries still pending {SETTLE_TIMEOUT:.0f} s after the fuzz: counts "
            f"{pending['counts']}; their last errors (of the newest 100): {dict(notes.most_common(5))}"
        ]
    counts: dict[str, int] = listing["counts"]
    problems = []
    if not set(counts) <= {"done", "ignored", "failed"}:
        problems.append(f"seed {SEED}: deliveries in unexpected states after the fuzz: {counts}")
    answered = sum(tally.fresh.values())
    if sum(counts.values()) != answered:
        problems.append(
            f"seed {SEED}: {answered} deliveries were answered as freshly accepted, the inbox holds "
            f"{sum(counts.values())}: {counts}"
        )
    if not counts.get("done"):
        problems.append(f"seed {SEED}: no fuzzed delivery was processed to done, so none reached a handler")
    return problems


def still_works(connector: ConnectorProcess, github: RunningEmulator) -> list[str]:
    """A valid Flux event after the fuzz still becomes a commit status in GitHub: for a commit made
    after the fuzz, which no fuzzed event can have named."""
    sha = github.emulator.commit_files(connector.repo, "main", {"after-fuzz.txt": "1\n"}, "after", "bot")
    if _dev_status(github, connector.repo, sha) is not None:
        return [f"seed {SEED}: {DEV_CONTEXT} was set by the fuzz already, so the last check proves nothing"]
    event = kustomization_event(
        sha, "ReconciliationSucceeded", "Reconciliation finished in 2s, next run in 10m0s",
        timestamp="2026-01-01T11:00:00Z",
    )  # fmt: skip
    answer = connector.flux(event)
    if answer.status_code != 202:
        shown = f"{answer.status_code} {answer.text!r}"
        return [f"seed {SEED}: a valid Flux event after the fuzz was answered {shown}"]
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while (status := _dev_status(github, connector.repo, sha)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if status is None or status[0] != "success" or not (status[1] or "").startswith("Ready:"):
        return [f"seed {SEED}: a valid Flux event after the fuzz did not become a success status: {status}"]
    return []


# --- the test ----------------------------------------------------------------------------------------


def _listed(title: str, lines: list[str], shown: int = 12) -> str:
    more = f"\n  ... and {len(lines) - shown} more" if len(lines) > shown else ""
    return f"{title} ({len(lines)}):\n  " + "\n  ".join(lines[:shown]) + more


def test_fuzzed_bodies_are_answered_2xx_or_4xx_and_leave_the_connector_working(
    connector: ConnectorProcess, github: RunningEmulator, record_property: Callable[[str, object], None]
) -> None:
    sha = _head(github, connector.repo)
    build_case = case_builder({"flux": flux_bases(sha), "github": github_bases()})
    tally = Tally()
    started = time.monotonic()
    asyncio.run(send_all(connector.url, interleaved(build_case), tally))
    sent = time.monotonic() - started

    problems = []
    if tally.transport_errors:
        title = f"seed {SEED}: requests that failed at the transport"
        if tally.server_errors:  # uvicorn drops a connection after an unhandled error
            title += " (a 5xx closes its connection, failing the next request sent on it: fix those first)"
        problems.append(_listed(title, tally.transport_errors))
    if tally.server_errors:
        problems.append(_listed(f"seed {SEED}: requests answered 5xx", tally.server_errors))
    if tally.breaches:
        problems.append(_listed(f"seed {SEED}: answers the contract forbids", tally.breaches))
    problems += settled_problems(connector, tally)
    problems += still_works(connector, github)
    listing = httpx.get(f"{connector.url}/deliveries", timeout=10).json()

    total = sum(sum(found.values()) for found in tally.statuses.values())
    figures = {
        "seed": SEED,
        "bodies": {endpoint: CASES_PER_ENDPOINT for endpoint in PATHS},
        "answers": {endpoint: dict(sorted(found.items())) for endpoint, found in tally.statuses.items()},
        "accepted_fresh": dict(tally.fresh),
        "accepted_duplicate": dict(tally.duplicates),
        "connections_opened": tally.connections,
        "deliveries": listing["counts"],
        "seconds_sending": round(sent, 1),
    }
    print(f"\nfuzzed the connector: {json.dumps(figures)}")
    record_property("fuzz", json.dumps(figures))
    if tally.culprits:
        print(f"mutations in the failing cases: {dict(tally.culprits.most_common())}")

    assert total + len(tally.transport_errors) == 2 * CASES_PER_ENDPOINT, figures
    if tally.connections > total // 20:
        problems.append(
            f"seed {SEED}: keep-alive barely used: {tally.connections} connections, {total} answers"
        )
    assert not problems, (
        f"seed {SEED}; mutations in the failing cases: {dict(tally.culprits.most_common())}\n\n"
        + "\n\n".join(problems)
    )
