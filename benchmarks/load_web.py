"""Load benchmark of the web calculator on its real server (waitress, 127.0.0.1).

N concurrent clients, each on its own keep-alive connection with its own CSRF token,
post valid and invalid forms and API calls in turn for a fixed time. Prints requests/s,
p50 and p99 latency and the error count (an error is a failed request or a status other
than the expected one: 200 for valid, 422 for invalid input).

Usage::

    python benchmarks/load_web.py --clients 8 --duration 10

Without ``--url`` it starts ``hcc-prognosis serve --port 0`` itself and stops it at the
end. Traffic goes only to the loopback interface.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import re
import select
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

VALID_FORM = {"albumin": "3,5", "albumin_unit": "g/dL", "lymphocytes": "1100",
              "lymphocytes_unit": "cells/uL", "afp": "250", "afp_unit": "ng/mL",
              "extrahepatic_spread": "yes", "bilirubin": "1,2", "bilirubin_unit": "mg/dL",
              "inr": "1.1", "ascites": "none", "encephalopathy": "none"}
INVALID_FORM = {**VALID_FORM, "albumin": "35", "afp": "abc"}  # unit slip and garbage
VALID_JSON = {"albumin": 35, "lymphocytes": 1.1, "afp": 250, "extrahepatic_spread": True}
INVALID_JSON = {"albumin": 350, "lymphocytes": -1, "afp": "x", "weight": 80}

#: (name, expected status) of the requests each client sends in turn.
KINDS = (("form valid", 200), ("form invalid", 422), ("api valid", 200),
         ("api invalid", 422))
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
MAX_DURATION = 300.0
MAX_CLIENTS = 64


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if not ok:
                self.errors[kind] += 1


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (q in 0-100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class Client:
    """One browser-like client: a keep-alive connection, a session cookie and a token."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.connection = http.client.HTTPConnection(host, port, timeout=10)
        self.cookie = ""
        self.token = ""

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        all_headers = {"Cookie": self.cookie} if self.cookie else {}
        all_headers.update(headers or {})
        try:
            self.connection.request(method, path, body=body, headers=all_headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
            raise
        if cookie := response.getheader("Set-Cookie"):
            self.cookie = cookie.split(";", 1)[0]
        return response.status, data

    def fetch_token(self) -> None:
        status, page = self.request("GET", "/")
        found = TOKEN.search(page.decode())
        if status != 200 or not found:
            raise RuntimeError(f"GET / answered {status} without a CSRF token")
        self.token = found.group(1)

    def send(self, kind: str) -> int:
        if kind.startswith("form"):
            values = VALID_FORM if kind == "form valid" else INVALID_FORM
            body = urllib.parse.urlencode({"csrf_token": self.token, **values}).encode()
            content_type = "application/x-www-form-urlencoded"
            path = "/"
        else:
            body = json.dumps(VALID_JSON if kind == "api valid" else INVALID_JSON).encode()
            content_type, path = "application/json", "/api/v1/score"
        status, _ = self.request("POST", path, body, {"Content-Type": content_type})
        return status


def run_client(host: str, port: int, deadline: float, tally: Tally, offset: int) -> None:
    client = Client(host, port)
    client.fetch_token()
    i = offset
    while time.perf_counter() < deadline:
        kind, expected = KINDS[i % len(KINDS)]
        started = time.perf_counter()
        try:
            ok = client.send(kind) == expected
        except (OSError, http.client.HTTPException):
            ok = False
        tally.add(kind, time.perf_counter() - started, ok)
        i += 1
    client.connection.close()


@contextmanager
def started_server(threads: int) -> Iterator[str]:
    """``hcc-prognosis serve --port 0`` in a subprocess; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "calculator.cli", "serve", "--host", "127.0.0.1",
         "--port", "0", "--threads", str(threads)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline and process.poll() is None:
            if select.select([process.stdout], [], [], 0.2)[0]:
                found = re.search(r"(http://\S+/)", process.stdout.readline())
                url = found.group(1) if found else None
        if url is None:
            raise RuntimeError("hcc-prognosis serve did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def loopback_address(url: str) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"load_web.py sends traffic to loopback addresses only; got {host}")
    return host, parsed.port or 80


def measure(url: str, clients: int, duration: float) -> tuple[Tally, float]:
    host, port = loopback_address(url)
    tally = Tally()
    deadline = time.perf_counter() + duration
    started = time.perf_counter()
    workers = [threading.Thread(target=run_client, args=(host, port, deadline, tally, i))
               for i in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return tally, time.perf_counter() - started


def report(tally: Tally, elapsed: float) -> str:
    lines = [f"{'requests':<14}{'n':>8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
             f"{'errors':>8}"]
    everything: list[float] = []
    for kind, _ in KINDS:
        values = sorted(tally.latencies[kind])
        everything += values
        lines.append(f"{kind:<14}{len(values):>8}{len(values) / elapsed:>10.1f}"
                     f"{percentile(values, 50) * 1000:>10.2f}"
                     f"{percentile(values, 99) * 1000:>10.2f}{tally.errors[kind]:>8}")
    everything.sort()
    lines.append(f"{'all':<14}{len(everything):>8}{len(everything) / elapsed:>10.1f}"
                 f"{percentile(everything, 50) * 1000:>10.2f}"
                 f"{percentile(everything, 99) * 1000:>10.2f}"
                 f"{sum(tally.errors.values()):>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (10)")
    parser.add_argument("--server-threads", type=int, default=4,
                        help="waitress worker threads of the started server (4)")
    parser.add_argument("--url", help="an already running server on 127.0.0.1")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be 1-{MAX_CLIENTS}")
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration must be in (0, {MAX_DURATION:.0f}] seconds")
    print(f"{args.clients} clients for {args.duration:g} s on {os.cpu_count()} cores; "
          f"each client cycles: {', '.join(k for k, _ in KINDS)}")
    if args.url:
        tally, elapsed = measure(args.url, args.clients, args.duration)
    else:
        with started_server(args.server_threads) as url:
            print(f"server: hcc-prognosis serve (waitress, {args.server_threads} threads) "
                  f"at {url}")
            tally, elapsed = measure(url, args.clients, args.duration)
    print(report(tally, elapsed))
    return 1 if sum(tally.errors.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
