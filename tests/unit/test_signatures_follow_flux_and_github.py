"""Signed deliveries verify as Flux's generic-hmac provider and GitHub sign them; anything else does not."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from fluxgate.connector.signatures import (
    FLUX_ALGORITHMS,
    flux_signature,
    github_signature,
    verify_flux_signature,
    verify_github_signature,
)
from fluxgate.sandbox.github.webhooks import sign as emulator_sign

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "flux"
VECTOR = VECTORS / "30_generic_hmac_signature_vector.json"
BODY = b'{"involvedObject":{"kind":"Kustomization"},"reason":"Progressing"}'
KEY = "s3cr3t-token"


def hexmac(key: str, body: bytes, algorithm: str) -> str:
    return hmac.new(key.encode(), body, getattr(hashlib, algorithm)).hexdigest()


def test_the_flux_vector_verifies_over_the_raw_body() -> None:
    if not VECTOR.exists():
        pytest.fail(f"{VECTOR} is missing: the shared Flux vectors are the reference for these tests")
    vector = json.loads(VECTOR.read_text())
    body = vector["body"].encode()
    assert verify_flux_signature(body, vector["x_signature"], vector["key"])
    assert flux_signature(body, vector["key"]) == vector["x_signature"]
    # the same event re-serialised is a different body: the signature is over bytes, not over JSON
    reserialised = json.dumps(json.loads(body)).encode()
    assert not verify_flux_signature(reserialised, vector["x_signature"], vector["key"])


@pytest.mark.parametrize("algorithm", ["sha224", "sha256", "sha384", "sha512"])
def test_flux_signatures_of_every_documented_algorithm_verify(algorithm: str) -> None:
    header = f"{algorithm}={hexmac(KEY, BODY, algorithm)}"
    assert verify_flux_signature(BODY, header, KEY)
    assert verify_flux_signature(BODY, header.upper(), KEY)
    assert verify_flux_signature(BODY, f" {header} ", KEY)
    assert flux_signature(BODY, KEY, algorithm) == header
    assert algorithm in FLUX_ALGORITHMS


@pytest.mark.parametrize("algorithm", sorted(FLUX_ALGORITHMS))
def test_a_tampered_body_or_another_key_fails(algorithm: str) -> None:
    header = flux_signature(BODY, KEY, algorithm)
    assert not verify_flux_signature(BODY + b" ", header, KEY)
    assert not verify_flux_signature(BODY.replace(b"Progressing", b"Ready"), header, KEY)
    assert not verify_flux_signature(BODY, header, KEY + "x")
    assert not verify_flux_signature(BODY, header, "")


@pytest.mark.parametrize("header", [
    None,
    "",
    "sha256",
    "sha256=",
    "=" + hexmac(KEY, BODY, "sha256"),
    "sha1=" + hexmac(KEY, BODY, "sha1"),
    "md5=" + hexmac(KEY, BODY, "md5"),
    hexmac(KEY, BODY, "sha256"),
    "sha256=" + hexmac(KEY, BODY, "sha256")[:-2],
    "sha256=" + hexmac(KEY, BODY, "sha256") + "00",
    "sha256=zz" + hexmac(KEY, BODY, "sha256")[2:],
    "sha256=" + hexmac(KEY, BODY, "sha256") + "=",
    "sha256:" + hexmac(KEY, BODY, "sha256"),
    "sha256=é" + hexmac(KEY, BODY, "sha256")[1:],
    "sha256=\x00",
])
def test_missing_or_garbage_flux_headers_never_verify(header: str | None) -> None:
    assert not verify_flux_signature(BODY, header, KEY)


def test_an_empty_key_verifies_nothing_even_what_it_signed() -> None:
    assert not verify_flux_signature(BODY, flux_signature(BODY, ""), "")
    assert not verify_github_signature(BODY, github_signature(BODY, ""), "")


def test_an_unknown_algorithm_cannot_be_used_to_sign() -> None:
    with pytest.raises(ValueError, match="unknown algorithm 'md5'"):
        flux_signature(BODY, KEY, "md5")


def test_github_signatures_verify() -> None:
    header = "sha256=" + hexmac("webhook-secret", BODY, "sha256")
    assert verify_github_signature(BODY, header, "webhook-secret")
    assert github_signature(BODY, "webhook-secret") == header


def test_the_github_emulators_deliveries_verify() -> None:
    assert verify_github_signature(BODY, emulator_sign("webhook-secret", BODY), "webhook-secret")


@pytest.mark.parametrize("header", [
    None,
    "",
    "sha1=" + hexmac("webhook-secret", BODY, "sha1"),  # the legacy X-Hub-Signature header's form
    "sha512=" + hexmac("webhook-secret", BODY, "sha512"),
    "sha256=" + hexmac("other-secret", BODY, "sha256"),
    "sha256=" + hexmac("webhook-secret", BODY + b"\n", "sha256"),
    "sha256=not-hex",
])
def test_github_signatures_of_anything_else_fail(header: str | None) -> None:
    assert not verify_github_signature(BODY, header, "webhook-secret")
