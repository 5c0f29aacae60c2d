"""hello: answers every request with the configured message."""

import os
import socket
from http.server import BaseHTTPRequestHandler, HTTPServer

MESSAGE = os.environ.get("MESSAGE", "Hello")
# FOOTER arrives with a literal ${HOSTNAME} in it (escaped as $${HOSTNAME} in the template).
FOOTER = os.environ.get("FOOTER", "").replace("${HOSTNAME}", socket.gethostname())


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"ok\n" if self.path == "/healthz" else f"{MESSAGE}\n{FOOTER}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("", 8080), Handler).serve_forever()
