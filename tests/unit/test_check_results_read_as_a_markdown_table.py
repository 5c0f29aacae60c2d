"""What a GitHub Check Run summary shows of post-deploy checks: one table row per check, the log
tail of each failed container folded below; and which checks run here and which the flow dispatches."""

from __future__ import annotations

from fluxgate.config import ContainerCheck, HttpCheck, WorkflowCheck
from fluxgate.stage import CheckResult, checks_markdown, run_checks, split_checks


def test_each_check_is_a_row_with_its_kind_outcome_attempts_and_duration() -> None:
    results = [
        CheckResult(name="health", kind="http", passed=True, detail="HTTP 200", attempts=3, duration=1.5),
        CheckResult(name="smoke", kind="container", passed=False, detail="exit code 1: a | b", attempts=1,
                    duration=95.2, log_tail=["collected 2 items", "FAILED test_login - a | b"]),
    ]

    assert checks_markdown(results) == (
        "| Check | Kind | Result | Detail | Attempts | Duration |\n"
        "|---|---|:---:|---|---:|---:|\n"
        "| health | http | ✅ | HTTP 200 | 3 | 1.5s |\n"
        "| smoke | container | ❌ | exit code 1: a \\| b | 1 | 1m35s |\n"
        "\n"
        "<details><summary>smoke: last 2 log lines</summary>\n"
        "\n"
        "```\n"
        "collected 2 items\n"
        "FAILED test_login - a | b\n"
        "```\n"
        "\n"
        "</details>\n"
    )


def test_a_log_with_backticks_cannot_close_its_fence() -> None:
    failed = CheckResult(name="smoke", kind="container", passed=False, detail="exit code 1", attempts=1,
                         log_tail=["```", "````x"])

    assert "\n`````\n```\n````x\n`````\n" in checks_markdown([failed])


def test_no_results_say_so() -> None:
    assert checks_markdown([]) == "No post-deploy checks ran.\n"


def test_workflow_checks_are_left_to_the_flow_in_config_order() -> None:
    e2e = WorkflowCheck.model_validate({"name": "e2e", "workflow": {"repo": "acme/app", "file": "e2e.yml"}})
    health = HttpCheck(name="health", url="http://127.0.0.1:9/healthz", deadline="0s")
    smoke = ContainerCheck.model_validate({"name": "smoke", "container": {"image": "busybox:1.36"}})

    assert split_checks([e2e, health, smoke]) == ([health, smoke], [e2e])

    def no_engine() -> object:
        raise ConnectionError("unused")

    results = run_checks([e2e, health], sleep=lambda _s: None, docker_client_factory=no_engine)  # type: ignore[arg-type]
    assert [r.name for r in results] == ["health"]
