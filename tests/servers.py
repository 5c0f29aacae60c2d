"""Waiting for a server process the tests started."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx

__all__ = ["wait_until_up"]


def wait_until_up(url: str, proc: subprocess.Popen[Any], what: str, timeout: float) -> None:
    """Poll `url` until it answers 200; fail with the process's own words if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {proc.communicate()[1] if proc.stderr else proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s")
        time.sleep(0.1)
