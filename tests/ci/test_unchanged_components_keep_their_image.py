"""The release of a push: changed components get the new tag, unchanged ones keep the last release's."""

from __future__ import annotations

import pytest

from fluxgate.ci import ComponentChange, ComponentChanges, compute_release
from fluxgate.errors import CiError
from tests.ci.conftest import CodeRepo

HEAD = "abcdef0123456789abcdef0123456789abcdef01"
BASE = "1111111111111111111111111111111111111111"
PREVIOUS = {
    "web": "ghcr.io/acme/web:1111111",
    "api": "ghcr.io/acme/api:1.4.1",
    "worker": "ghcr.io/acme/worker@sha256:" + "e" * 64,
}


def _changes(*changed: str, base: str | None = BASE) -> ComponentChanges:
    return ComponentChanges(
        base=base,
        head=HEAD,
        components={
            name: ComponentChange(
                changed=name in changed or base is None,
                files=[f"services/{name}/x"] if name in changed else [],
            )
            for name in ("web", "api", "worker")
        },
    )


def test_changed_components_get_the_short_sha_and_the_others_keep_their_image(code_repo: CodeRepo) -> None:
    ci = compute_release(code_repo.config, _changes("web"), PREVIOUS)

    assert ci.built == ["web"]
    assert ci.reasons == {"web": "changed: services/web/x"}
    assert ci.release.version == "abcdef0"
    assert ci.release.app == "shop"
    assert ci.release.images == {
        "web": "ghcr.io/acme/web:abcdef0",
        "api": "ghcr.io/acme/api:1.4.1",
        "worker": "ghcr.io/acme/worker@sha256:" + "e" * 64,
    }


def test_a_given_version_tags_the_changed_images(code_repo: CodeRepo) -> None:
    ci = compute_release(code_repo.config, _changes("api", "worker"), PREVIOUS, version="1.5.0")

    assert ci.built == ["api", "worker"]
    assert ci.release.version == "1.5.0"
    assert ci.release.images["api"] == "ghcr.io/acme/api:1.5.0"
    assert ci.release.images["worker"] == "ghcr.io/acme/worker:1.5.0"
    assert ci.release.images["web"] == "ghcr.io/acme/web:1111111"


def test_the_first_build_builds_everything_whatever_was_there(code_repo: CodeRepo) -> None:
    ci = compute_release(code_repo.config, _changes(base=None), PREVIOUS)

    assert ci.built == ["api", "web", "worker"]
    assert set(ci.reasons.values()) == {"first build"}
    assert set(ci.release.images.values()) == {f"ghcr.io/acme/{n}:abcdef0" for n in ("web", "api", "worker")}


@pytest.mark.parametrize(
    ("previous", "why"),
    [
        ({}, "unchanged, but there is no previous image"),
        (
            {"web": "ghcr.io/other/web:1111111"},
            "unchanged, but the previous image ghcr.io/other/web:1111111 "
            "is not a pinned image of ghcr.io/acme/web",
        ),
        (
            {"web": "ghcr.io/acme/web:latest"},
            "unchanged, but the previous image ghcr.io/acme/web:latest "
            "is not a pinned image of ghcr.io/acme/web",
        ),
    ],
)
def test_an_unchanged_component_without_a_usable_previous_image_is_built(
    code_repo: CodeRepo, previous: dict[str, str], why: str
) -> None:
    others = {name: ref for name, ref in PREVIOUS.items() if name != "web"}
    ci = compute_release(code_repo.config, _changes(), others | previous)

    assert ci.built == ["web"]
    assert ci.reasons["web"] == why
    assert ci.release.images["web"] == "ghcr.io/acme/web:abcdef0"


def test_a_version_that_cannot_tag_an_image_is_one_line(code_repo: CodeRepo) -> None:
    with pytest.raises(CiError, match=r"^version '1\.4\.2\+build' cannot tag images: ") as caught:
        compute_release(code_repo.config, _changes("web"), PREVIOUS, version="1.4.2+build")
    assert "\n" not in str(caught.value)
