"""An emulated GitHub for tests and the demo: the REST subset fluxgate uses, over real git repositories.

PyGithub works against it unchanged; `git clone` sees what the API wrote; webhooks are signed and
delivered like GitHub's; every REST answer carries GitHub's `X-RateLimit-*` headers, and GitHub's
secondary rate limits can be enforced (`secondary_limits=GITHUB_SECONDARY_LIMITS`, see `emulator`).
Start one with `start_in_thread(data_dir)` or `fluxgate sandbox github`.
"""

from fluxgate.sandbox.github.emulator import Emulator, Fault, RequestRecord, files_in
from fluxgate.sandbox.github.rate_limits import GITHUB_SECONDARY_LIMITS
from fluxgate.sandbox.github.server import RunningEmulator, free_port, serve, start_in_thread
from fluxgate.sandbox.github.webhooks import sign

__all__ = [
    "GITHUB_SECONDARY_LIMITS",
    "Emulator",
    "Fault",
    "RequestRecord",
    "RunningEmulator",
    "files_in",
    "free_port",
    "serve",
    "sign",
    "start_in_thread",
]
