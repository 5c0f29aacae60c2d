"""Whether a delivery really comes from Flux or GitHub: HMAC checks over the raw request body.

The connector's endpoints call `verify_flux_signature` (Flux `generic-hmac` provider, header
`X-Signature: <alg>=<hex>`) and `verify_github_signature` (header `X-Hub-Signature-256: sha256=<hex>`)
before parsing anything, so an unsigned or tampered body is refused without being read. The
`*_signature` functions make the header values: the sandbox's simulated Flux and tests sign with them.

Checks fail closed: a missing or malformed header, an unknown algorithm, or an empty key never verifies.
Digests are compared in constant time (`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

__all__ = [
    "FLUX_ALGORITHMS",
    "flux_signature",
    "github_signature",
    "verify_flux_signature",
    "verify_github_signature",
]

# The prefixes Flux's documented verifier accepts; generic-hmac itself sends sha256.
FLUX_ALGORITHMS: dict[str, Callable[..., Any]] = {
    "sha224": hashlib.sha224,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _hex_hmac(key: str, body: bytes, algorithm: str) -> str:
    return hmac.new(_utf8(key), body, FLUX_ALGORITHMS[algorithm]).hexdigest()


def _verify(body: bytes, header: str | None, key: str, algorithms: frozenset[str]) -> bool:
    if not key or not header:
        return False
    algorithm, sep, given = header.strip().partition("=")
    algorithm = algorithm.strip().lower()
    if not sep or algorithm not in algorithms:
        return False
    expected = _hex_hmac(key, body, algorithm)
    return hmac.compare_digest(_utf8(expected), _utf8(given.strip().lower()))


def verify_flux_signature(body: bytes, header: str | None, key: str) -> bool:
    """True when `header` (the `X-Signature` value) is the HMAC of the raw `body` under `key`."""
    return _verify(body, header, key, frozenset(FLUX_ALGORITHMS))


def verify_github_signature(body: bytes, header: str | None, secret: str) -> bool:
    """True when `header` (the `X-Hub-Signature-256` value) is the HMAC-SHA256 of `body` under `secret`."""
    return _verify(body, header, secret, frozenset({"sha256"}))


def flux_signature(body: bytes, key: str, algorithm: str = "sha256") -> str:
    """The `X-Signature` value Flux's generic-hmac provider sends for `body`."""
    if algorithm not in FLUX_ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {sorted(FLUX_ALGORITHMS)}")
    return f"{algorithm}={_hex_hmac(key, body, algorithm)}"


def github_signature(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return f"sha256={_hex_hmac(secret, body, 'sha256')}"
