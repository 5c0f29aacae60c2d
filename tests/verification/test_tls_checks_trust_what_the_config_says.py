"""HTTPS checks against a real service with a self-signed certificate: refused by default, passed
with `tls: {verify: false}` or with the certificate as `ca_file`."""

from __future__ import annotations

from pathlib import Path

from fluxgate.config import HttpCheck
from fluxgate.stage import run_checks
from tests.check_fakes import FakeClock
from tests.http_service import Service


def tls_check(service: Service, **tls: object) -> HttpCheck:
    return HttpCheck.model_validate({"name": "tls", "url": service.url, "deadline": "0s", "tls": tls})


def test_an_untrusted_certificate_fails_in_one_line(https_service: Service, clock: FakeClock) -> None:
    [result] = run_checks([tls_check(https_service)], sleep=clock.sleep, clock=clock)

    assert not result.passed
    assert result.detail.startswith("ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED]")
    assert "\n" not in result.detail


def test_verify_false_accepts_the_certificate(https_service: Service, clock: FakeClock) -> None:
    [result] = run_checks([tls_check(https_service, verify=False)], sleep=clock.sleep, clock=clock)

    assert result.passed and result.detail == "HTTP 200"


def test_a_ca_file_trusts_the_certificate(
    https_service: Service, clock: FakeClock, certificate: tuple[Path, Path]
) -> None:
    cert_file, _key = certificate

    [result] = run_checks([tls_check(https_service, ca_file=str(cert_file))], sleep=clock.sleep, clock=clock)

    assert result.passed, result.detail


def test_a_missing_ca_file_fails_in_one_line_without_a_request(
    https_service: Service, clock: FakeClock, tmp_path: Path
) -> None:
    [result] = run_checks(
        [tls_check(https_service, ca_file=str(tmp_path / "nope.pem"))], sleep=clock.sleep, clock=clock
    )

    assert not result.passed and result.attempts == 0
    assert result.detail == "TLS: cannot load ca_file nope.pem: No such file or directory"
    assert https_service.seen == []
