"""A release has a full image reference for every component, or it is refused with a hint.

Uses the shop example: components `web` (ghcr.io/acme/shop-web) and `worker` (ghcr.io/acme/shop-worker).
"""

from __future__ import annotations

import pytest
from projects import EXAMPLES

from fluxgate.config import PipelineConfig, load_config
from fluxgate.errors import UsageError
from fluxgate.release import ImageRef, build_release

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def shop() -> PipelineConfig:
    return load_config(EXAMPLES / "shop" / "fluxgate.yaml")


def refused(config: PipelineConfig, images: list[str], version: str | None = None) -> str:
    with pytest.raises(UsageError) as caught:
        build_release(config, images, version)
    return str(caught.value)


def test_tags_alone_complete_the_configured_repositories(shop: PipelineConfig) -> None:
    release = build_release(shop, ["web=1.4.2", "worker=1.4.2"])

    assert release.images == {
        "web": "ghcr.io/acme/shop-web:1.4.2",
        "worker": "ghcr.io/acme/shop-worker:1.4.2",
    }
    assert release.version == "1.4.2"
    assert release.name == "shop@1.4.2"


def test_a_mapping_works_like_cli_pairs(shop: PipelineConfig) -> None:
    assert build_release(shop, {"web": "1.4.2", "worker": "1.4.2"}) == build_release(
        shop, ["web=1.4.2", "worker=1.4.2"]
    )


def test_a_full_reference_is_kept_even_from_another_registry(shop: PipelineConfig) -> None:
    release = build_release(
        shop, ["web=registry.example.com:5000/mirror/web:1.4.2", "worker=ghcr.io/acme/shop-worker:1.4.2"]
    )

    assert release.images == {
        "web": "registry.example.com:5000/mirror/web:1.4.2",
        "worker": "ghcr.io/acme/shop-worker:1.4.2",
    }
    assert release.version == "1.4.2"


def test_a_digest_pins_the_configured_repository(shop: PipelineConfig) -> None:
    release = build_release(shop, [f"web=@{DIGEST}", "worker=1.4.2"], version="1.4.2")

    assert release.images["web"] == f"ghcr.io/acme/shop-web@{DIGEST}"


def test_tag_and_digest_together(shop: PipelineConfig) -> None:
    release = build_release(shop, [f"web=ghcr.io/acme/shop-web:1.4.2@{DIGEST}", "worker=1.4.2"])

    assert release.images["web"] == f"ghcr.io/acme/shop-web:1.4.2@{DIGEST}"
    assert release.version == "1.4.2"


def test_missing_component_is_named_with_the_flag_to_pass(shop: PipelineConfig) -> None:
    assert refused(shop, ["web=1.4.2"]) == (
        "component 'worker' has no image tag: pass --image worker=<tag or image ref>"
    )


def test_unknown_component_lists_the_known_ones(shop: PipelineConfig) -> None:
    assert refused(shop, ["web=1.4.2", "worker=1.4.2", "db=1.0"]) == (
        "--image db: no such component; fluxgate.yaml defines web, worker"
    )


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (["web1.4.2", "worker=1"], "--image 'web1.4.2': expected COMPONENT=IMAGE, e.g. web=1.4.2"),
        (["web=", "worker=1"], "--image 'web=': expected COMPONENT=IMAGE, e.g. web=1.4.2"),
        (["web=1", "web=2", "worker=1"], "--image web: given twice"),
        (
            ["web=ghcr.io/acme/shop-web", "worker=1"],
            "--image web=ghcr.io/acme/shop-web: give a tag or digest, e.g. ghcr.io/acme/shop-web:1.0.0",
        ),
        (
            ["web=ghcr.io/acme/shop-web:bad tag", "worker=1"],
            "--image web=ghcr.io/acme/shop-web:bad tag: not a valid image reference",
        ),
        (
            ["web=ghcr.io/acme/shop-web@sha256:short", "worker=1"],
            "--image web=ghcr.io/acme/shop-web@sha256:short: not a valid image reference",
        ),
    ],
)
def test_malformed_image_arguments_are_explained(
    shop: PipelineConfig, images: list[str], message: str
) -> None:
    assert refused(shop, images) == message


def test_a_registry_port_is_not_mistaken_for_a_tag(shop: PipelineConfig) -> None:
    message = refused(shop, ["web=registry:5000/web", "worker=1"])

    assert message.startswith("--image web=registry:5000/web: give a tag or digest")


@pytest.mark.parametrize(
    "images",
    [
        ["web=1.4.2", "worker=1.4.3"],
        [f"web=@{DIGEST}", "worker=1.4.2"],
    ],
)
def test_version_cannot_be_inferred_when_tags_differ(shop: PipelineConfig, images: list[str]) -> None:
    assert refused(shop, images) == "the images do not share one tag: pass --version for the release"


def test_an_explicit_version_resolves_differing_tags(shop: PipelineConfig) -> None:
    release = build_release(shop, ["web=1.4.2", "worker=1.4.3"], version="2024.06.01")

    assert release.version == "2024.06.01"
    assert release.images["worker"] == "ghcr.io/acme/shop-worker:1.4.3"


def test_an_invalid_version_is_refused(shop: PipelineConfig) -> None:
    assert refused(shop, ["web=1", "worker=1"], version="bad version") == (
        "--version 'bad version': use letters, digits, '.', '_', '+' or '-'"
    )


@pytest.mark.parametrize(
    ("text", "repository", "tag", "digest", "pinned"),
    [
        ("ghcr.io/acme/web:1.0", "ghcr.io/acme/web", "1.0", None, True),
        ("ghcr.io/acme/web", "ghcr.io/acme/web", None, None, False),
        ("ghcr.io/acme/web:latest", "ghcr.io/acme/web", "latest", None, False),
        (f"ghcr.io/acme/web@{DIGEST}", "ghcr.io/acme/web", None, DIGEST, True),
        ("localhost:5000/web", "localhost:5000/web", None, None, False),
        ("localhost:5000/web:2", "localhost:5000/web", "2", None, True),
    ],
)
def test_image_references_split_into_parts(
    text: str, repository: str, tag: str | None, digest: str | None, pinned: bool
) -> None:
    ref = ImageRef.parse(text)

    assert (ref.repository, ref.tag, ref.digest, ref.pinned) == (repository, tag, digest, pinned)
    assert str(ref) == text
