"""Bad input: one line per problem on stderr, exit code 2, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import EXAMPLES, Run, user_error

SHOP = EXAMPLES / "shop" / "fluxgate.yaml"


@pytest.mark.console_script  # one line, exit 2, no traceback from the real script
def test_unknown_environment_names_the_known_ones(fluxgate: Run) -> None:
    lines = user_error(fluxgate("render", "-c", str(SHOP), "--env", "qa", "-i", "web=1", "-i", "worker=1"))
    assert lines == ["error: unknown environment 'qa': fluxgate.yaml defines dev, staging, prod"]


def test_a_component_without_an_image_is_named(fluxgate: Run) -> None:
    lines = user_error(fluxgate("render", "-c", str(SHOP), "--env", "dev", "-i", "web=1.0.0"))
    assert lines == ["error: component 'worker' has no image tag: pass --image worker=<tag or image ref>"]


def test_latest_tag_is_a_policy_breach_and_nothing_is_written(fluxgate: Run, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = fluxgate(
        "render", "-c", str(SHOP), "-e", "dev", "-i", "web=latest", "-i", "worker=latest",
        "--version", "1.0.0", "-o", str(out),
    )  # fmt: skip
    lines = user_error(result)
    web = "dev/shop-dev/deployment-shop-web.yaml (from deploy/main.jsonnet): Deployment shop-dev/shop-web:"
    assert any(
        web in line
        and "not pinned" in line
        for line in lines
    ), lines
    assert not out.exists()


def test_jsonnet_error_points_at_file_line_and_column(fluxgate: Run, shop: Path) -> None:
    main = shop / "deploy" / "main.jsonnet"
    text = main.read_text().rstrip("\n") + "\n+ [{ broken: error 'values.replicas is required' }]\n"
    main.write_text(text)
    bad_line = len(text.splitlines())
    lines = user_error(
        fluxgate("render", "-c", str(shop / "fluxgate.yaml"), "-e", "dev", "-i", "web=1", "-i", "worker=1")
    )
    assert lines == [f"error: deploy/main.jsonnet:{bad_line}:14: RUNTIME ERROR: values.replicas is required"]


def test_schema_violation_names_file_object_and_field(fluxgate: Run, shop: Path, tmp_path: Path) -> None:
    values = shop / "config" / "dev" / "values.yaml"
    values.write_text(values.read_text().replace("minReplicas: 1", 'minReplicas: "one"', 1))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    result = fluxgate(
        "render",
        "-c",
        str(shop / "fluxgate.yaml"),
        "-e",
        "dev",
        "-i",
        "web=1",
        "-i",
        "worker=1",
        "-o",
        str(out),
    )
    lines = user_error(result)
    assert any("horizontalpodautoscaler-" in line and "spec.minReplicas" in line for line in lines), lines
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_config_error_names_file_line_and_field(fluxgate: Run, shop: Path) -> None:
    config = shop / "fluxgate.yaml"
    config.write_text(config.read_text().replace("engine: jsonnet", "engine: jinja"))
    lines = user_error(fluxgate("render", "-c", str(config), "-e", "dev", "-i", "web=1", "-i", "worker=1"))
    line_no = next(i for i, t in enumerate(config.read_text().splitlines(), 1) if "engine: jinja" in t)
    assert len(lines) == 1
    assert f"fluxgate.yaml:{line_no}: templates.engine:" in lines[0]


def test_missing_config_says_how_to_point_at_one(fluxgate: Run, tmp_path: Path) -> None:
    lines = user_error(fluxgate("render", "-e", "dev", cwd=tmp_path))
    assert "fluxgate.yaml: not found" in lines[0] and "--config" in lines[0]
