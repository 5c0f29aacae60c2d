"""Waiting for a server process the tests started (the sandbox's own helper)."""

from fluxgate.sandbox.serving import wait_until_up

__all__ = ["wait_until_up"]
