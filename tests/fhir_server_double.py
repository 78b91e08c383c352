"""A test double of an EHR's FHIR server (and of its JWKS endpoint), over real HTTP.

Not a FHIR server: it answers ``GET <base>/Observation?patient=..&code=..`` with a
searchset Bundle of the Observations it was given whose LOINC code is among those asked
for, newest first, when the request carries the expected bearer token; and ``GET
/jwks.json`` with the JWKS it was given. ``mode`` makes it misbehave the ways a real
server can (a redirect to another host, an answer too large, too slow, dripping, an HTTP
error, not JSON), so the service's limits are tested against a socket, not a mock. It
records each request (path, query, Authorization) for the tests to inspect. It listens on
127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MODES = ("ok", "redirect-elsewhere", "redirect-same-host", "huge", "slow", "drip",
         "error", "not-json", "unauthorised-always")


@dataclass
class FhirServerDouble:
    """State shared with the handler: what to serve and what was asked."""

    token: str = "ehr-access-token"
    observations: list[dict[str, Any]] = field(default_factory=list)
    jwks: dict[str, Any] = field(default_factory=lambda: {"keys": []})
    mode: str = "ok"
    requests: list[tuple[str, dict[str, list[str]], str | None]] = field(default_factory=list)
    port: int = 0

    @property
    def base(self) -> str:
        """The FHIR base URL."""
        return f"http://127.0.0.1:{self.port}/fhir"

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    def searchset(self, codes: list[str]) -> dict[str, Any]:
        wanted = {c.rpartition("|")[2] for group in codes for c in group.split(",")}
        found = [o for o in self.observations
                 if any(c.get("code") in wanted for c in o["code"].get("coding", []))]
        found.sort(key=lambda o: str(o.get("effectiveDateTime", "")), reverse=True)
        return {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                "entry": [{"fullUrl": f"{self.base}/Observation/{o.get('id')}",
                           "resource": o, "search": {"mode": "match"}} for o in found]}


def _handler(state: FhirServerDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet: no stderr noise
            pass

        def _send(self, status: int, body: bytes, kind: str = "application/fhir+json",
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            state.requests.append((parts.path, query, self.headers.get("Authorization")))
            if parts.path == "/jwks.json":
                self._send(200, json.dumps(state.jwks).encode(), "application/json")
                return
            if self.headers.get("Authorization") != f"Bearer {state.token}" \
                    or state.mode == "unauthorised-always":
                self._send(401, b'{"resourceType": "OperationOutcome"}')
                return
            mode = state.mode
            if mode == "redirect-elsewhere":
                self._send(302, b"", headers={"Location": f"http://localhost:{state.port}"
                                                          f"{self.path}"})
            elif mode == "redirect-same-host" and "moved" not in query:
                self._send(302, b"", headers={"Location": f"{self.path}&moved=1"})
            elif mode == "huge":
                self._send(200, b'{"resourceType": "Bundle", "pad": "' + b"x" * 3_000_000
                           + b'"}')
            elif mode == "slow":
                time.sleep(2.0)
                self._send(200, json.dumps(state.searchset([])).encode())
            elif mode == "drip":
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.end_headers()
                try:
                    for _ in range(40):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:  # the client gave up: as it should
                    return
            elif mode == "error":
                self._send(500, b'{"resourceType": "OperationOutcome"}')
            elif mode == "not-json":
                self._send(200, b"<html>login</html>", "text/html")
            else:
                body = state.searchset(query.get("code", []))
                self._send(200, json.dumps(body, default=_decimal).encode())

    return Handler


def _decimal(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


@contextmanager
def running(state: FhirServerDouble | None = None) -> Iterator[FhirServerDouble]:
    """The double listening on 127.0.0.1 (a free port) until the block ends."""
    state = state or FhirServerDouble()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
