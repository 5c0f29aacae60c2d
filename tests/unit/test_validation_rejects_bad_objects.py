"""Rendered objects that break the Kubernetes schema or a policy stop the render, all reported at once.

Every problem reads `<repo path> (from <template>:<line>): <Kind> <namespace>/<name>: <what is wrong>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from projects import deployment, render, write_project

from fluxgate.errors import ValidationFailed

PLAINTEXT_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: hunter2
"""

SOPS_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
data:
  password: ENC[AES256_GCM,data:Tr7o=,iv:1=,tag:2=,type:str]
stringData:
  user: ENC[AES256_GCM,data:YWRt,iv:3=,tag:4=,type:str]
sops:
  version: 3.8.1
  lastmodified: "2024-05-01T10:00:00Z"
  mac: ENC[AES256_GCM,data:bWFj,iv:5=,tag:6=,type:str]
  age:
    - recipient: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs
      enc: "-----BEGIN AGE ENCRYPTED FILE-----"
"""

CERTIFICATE = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: web-tls
spec:
  secretName: web-tls
"""

DEPLOYMENT_PATH = "dev/demo-dev/deployment-web.yaml (from manifests/web.yaml:1): Deployment demo-dev/web"


def problems_of(tmp_path: Path, files: dict[str, str], config: dict[str, Any] | None = None) -> list[str]:
    write_project(tmp_path, files, config)
    with pytest.raises(ValidationFailed) as caught:
        render(tmp_path)
    return caught.value.problems


def test_a_valid_deployment_passes(tmp_path: Path) -> None:
    write_project(tmp_path, {"manifests/web.yaml": deployment()})

    result = render(tmp_path)

    assert list(result.files()) == ["dev/demo-dev/deployment-web.yaml"]
    assert result.unvalidated == []


def test_wrong_type_names_file_object_and_field(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"manifests/web.yaml": deployment(replicas='"two"')})

    assert problems == [f"{DEPLOYMENT_PATH}: spec.replicas must be integer or null"]


def test_unknown_field_is_refused_in_strict_mode(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"manifests/web.yaml": deployment(extra_spec="\n  colour: blue")})

    assert problems == [f"{DEPLOYMENT_PATH}: spec must not contain {{'colour'}} properties"]


def test_unknown_field_passes_when_strict_is_off(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {"manifests/web.yaml": deployment(extra_spec="\n  colour: blue")},
        {"kubernetes": {"strict": False}},
    )

    assert render(tmp_path).manifests.objects["dev/demo-dev/deployment-web.yaml"]["spec"]["colour"] == "blue"


def test_a_plaintext_secret_is_refused(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"manifests/secret.yaml": PLAINTEXT_SECRET})

    assert problems == [
        "dev/demo-dev/secret-creds.yaml (from manifests/secret.yaml:1): Secret demo-dev/creds: "
        "Secret carries plaintext data/stringData; "
        "encrypt it with SOPS or use an external secret"
    ]


def test_a_sops_encrypted_secret_passes_schema_and_policy(tmp_path: Path) -> None:
    write_project(tmp_path, {"manifests/secret.yaml": SOPS_SECRET})

    secret = render(tmp_path).manifests.objects["dev/demo-dev/secret-creds.yaml"]

    assert secret["sops"]["version"] == "3.8.1"
    assert secret["data"]["password"].startswith("ENC[")


def test_a_secret_with_sops_metadata_but_a_plaintext_value_is_refused(tmp_path: Path) -> None:
    leaky = SOPS_SECRET.replace("ENC[AES256_GCM,data:Tr7o=,iv:1=,tag:2=,type:str]", "aHVudGVy")

    problems = problems_of(tmp_path, {"manifests/secret.yaml": leaky})

    assert problems == [
        "dev/demo-dev/secret-creds.yaml (from manifests/secret.yaml:1): Secret demo-dev/creds: "
        "Secret carries plaintext data/stringData; "
        "encrypt it with SOPS or use an external secret"
    ]


def test_a_secret_without_data_passes(tmp_path: Path) -> None:
    empty = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: empty\n"
    write_project(tmp_path, {"manifests/secret.yaml": empty})

    assert list(render(tmp_path).files()) == ["dev/demo-dev/secret-empty.yaml"]


UNPINNED = "is not pinned: use a version tag or a digest"


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("ghcr.io/acme/web:latest", f"image 'ghcr.io/acme/web:latest' {UNPINNED}"),
        ("ghcr.io/acme/web", f"image 'ghcr.io/acme/web' {UNPINNED}"),
        ("localhost:5000/web", f"image 'localhost:5000/web' {UNPINNED}"),
        ('""', "image is empty"),
    ],
)
def test_unpinned_images_are_refused(tmp_path: Path, image: str, problem: str) -> None:
    problems = problems_of(tmp_path, {"manifests/web.yaml": deployment(image=image)})

    assert problems == [f"{DEPLOYMENT_PATH}: spec.template.spec.containers[0].{problem}"]


def test_an_image_pinned_by_digest_passes(tmp_path: Path) -> None:
    image = "ghcr.io/acme/web@sha256:" + "ef" * 32
    write_project(tmp_path, {"manifests/web.yaml": deployment(image=image)})

    assert list(render(tmp_path).files()) == ["dev/demo-dev/deployment-web.yaml"]


def test_images_of_init_containers_in_custom_resources_are_checked_too(tmp_path: Path) -> None:
    rollout = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/migrate:latest
"""
    problems = problems_of(tmp_path, {"manifests/rollout.yaml": rollout})

    assert problems == [
        "dev/demo-dev/rollout-web.yaml (from manifests/rollout.yaml:1): Rollout demo-dev/web: "
        "spec.template.spec.initContainers[0].image "
        "'ghcr.io/acme/migrate:latest' is not pinned: use a version tag or a digest"
    ]


def test_duplicate_objects_are_refused(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"manifests/a.yaml": deployment(), "manifests/b.yaml": deployment()})

    assert problems == [
        "dev/demo-dev/deployment-web.yaml (from manifests/b.yaml:1): Deployment demo-dev/web: "
        "rendered twice (first from manifests/a.yaml:1); templates and overlays must define each object once"
    ]


def test_two_objects_mapping_to_one_file_are_refused(tmp_path: Path) -> None:
    other_group = "apiVersion: example.com/v1\nkind: Deployment\nmetadata:\n  name: web\n"

    problems = problems_of(tmp_path, {"manifests/a.yaml": deployment(), "manifests/b.yaml": other_group})

    assert problems == [
        "dev/demo-dev/deployment-web.yaml (from manifests/a.yaml:1 and manifests/b.yaml:1): "
        "Deployment demo-dev/web and Deployment demo-dev/web "
        "(groups apps, example.com) map to the same file; add {group} to manifests.layout or rename one"
    ]


def test_every_problem_is_reported_in_one_round(tmp_path: Path) -> None:
    files = {
        "manifests/web.yaml": deployment(replicas='"two"', image="ghcr.io/acme/web:latest"),
        "manifests/secret.yaml": PLAINTEXT_SECRET,
    }
    write_project(tmp_path, files)

    with pytest.raises(ValidationFailed) as caught:
        render(tmp_path)

    assert sorted(caught.value.problems) == [
        f"{DEPLOYMENT_PATH}: spec.replicas must be integer or null",
        f"{DEPLOYMENT_PATH}: spec.template.spec.containers[0].image 'ghcr.io/acme/web:latest' is not pinned: "
        "use a version tag or a digest",
        "dev/demo-dev/secret-creds.yaml (from manifests/secret.yaml:1): Secret demo-dev/creds: "
        "Secret carries plaintext data/stringData; "
        "encrypt it with SOPS or use an external secret",
    ]
    assert str(caught.value).endswith(" (and 2 more)")
    assert caught.value.lines() == caught.value.problems


def test_a_custom_resource_without_a_schema_is_skipped_and_listed(tmp_path: Path) -> None:
    write_project(tmp_path, {"manifests/cert.yaml": CERTIFICATE})

    result = render(tmp_path)

    assert list(result.files()) == ["dev/demo-dev/certificate-web-tls.yaml"]
    assert result.unvalidated == ["cert-manager.io/v1 Certificate"]


def test_a_custom_resource_without_a_schema_is_a_problem_when_schemas_are_required(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path, {"manifests/cert.yaml": CERTIFICATE}, {"kubernetes": {"missing_schemas": "error"}}
    )

    assert problems == [
        "dev/demo-dev/certificate-web-tls.yaml (from manifests/cert.yaml:1): Certificate demo-dev/web-tls: "
        "no schema for cert-manager.io/v1 Certificate in Kubernetes 1.31 or schema_dirs"
    ]


def test_a_custom_resource_is_validated_against_schema_dirs(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"secretName": {"type": "string"}}}},
    }
    files = {
        "schemas/cert-manager.io/certificate_v1.json": json.dumps(schema),
        "manifests/cert.yaml": CERTIFICATE.replace("secretName: web-tls", "secretName: 5"),
    }

    problems = problems_of(tmp_path, files, {"kubernetes": {"schema_dirs": ["schemas"]}})

    assert problems == [
        "dev/demo-dev/certificate-web-tls.yaml (from manifests/cert.yaml:1): Certificate demo-dev/web-tls: "
        "spec.secretName must be string"
    ]
