"""`kubernetes.version` decides which API the rendered objects are checked against."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import render, write_project

from fluxgate.errors import ConfigError, ValidationFailed

FLOWSCHEMA = """\
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: ${app}-batch
spec:
  priorityLevelConfiguration:
    name: workload-low
  matchingPrecedence: "high"
"""


def test_an_api_newer_than_the_configured_version_has_no_schema(tmp_path: Path) -> None:
    # flowcontrol.apiserver.k8s.io/v1 exists from Kubernetes 1.29 on.
    write_project(tmp_path, {"manifests/fs.yaml": FLOWSCHEMA}, config={"kubernetes": {"version": "1.27"}})
    result = render(tmp_path)
    assert result.unvalidated == ["flowcontrol.apiserver.k8s.io/v1 FlowSchema"]


def test_the_same_object_is_validated_once_the_version_knows_it(tmp_path: Path) -> None:
    write_project(tmp_path, {"manifests/fs.yaml": FLOWSCHEMA}, config={"kubernetes": {"version": "1.31"}})
    with pytest.raises(ValidationFailed) as caught:
        render(tmp_path)
    assert caught.value.problems == [
        "dev/_cluster/flowschema-demo-batch.yaml (from manifests/fs.yaml:1): FlowSchema demo-batch: "
        "spec.matchingPrecedence must be integer or null"
    ]


def test_an_unknown_version_lists_the_known_ones(tmp_path: Path) -> None:
    write_project(tmp_path, {"manifests/fs.yaml": FLOWSCHEMA}, config={"kubernetes": {"version": "1.10"}})
    with pytest.raises(ConfigError) as caught:
        render(tmp_path)
    assert str(caught.value).startswith("kubernetes.version '1.10': no schemas; known: 1.25, 1.26,")
