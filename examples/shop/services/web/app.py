"""shop web: the storefront HTTP service (stdlib only, so the image stays small)."""

import json
import logging
import os
import signal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "8080"))
VERSION = os.environ.get("APP_VERSION", "dev")
ENVIRONMENT = os.environ.get("ENVIRONMENT", "local")
FEATURES = {
    key.removeprefix("FEATURE_").lower(): value == "true"
    for key, value in os.environ.items()
    if key.startswith("FEATURE_")
}

logging.basicConfig(
    level=os.environ.get("LOG_LEVEL", "info").upper(),
    format="%(asctime)s %(levelname)s %(message)s",
)
log = logging.getLogger("shop-web")


class Handler(BaseHTTPRequestHandler):
    server_version = f"shop-web/{VERSION}"

    def _send(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        if self.path == "/healthz":
            self._send(200, {"status": "ok"})
        elif self.path == "/":
            self._send(200, {
                "app": "shop",
                "version": VERSION,
                "environment": ENVIRONMENT,
                "features": FEATURES,
            })
        else:
            self._send(404, {"error": "not found"})

    def log_message(self, fmt: str, *args) -> None:
        if self.path != "/healthz":  # keep probe noise out of the logs
            log.info("%s %s", self.address_string(), fmt % args)


def main() -> None:
    server = ThreadingHTTPServer(("", PORT), Handler)
    # Kubernetes sends SIGTERM on rollout; stop accepting and let in-flight requests finish.
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
    log.info("shop-web %s listening on :%d (%s)", VERSION, PORT, ENVIRONMENT)
    server.serve_forever()


if __name__ == "__main__":
    main()
