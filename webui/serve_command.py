"""``hcc-prognosis serve``: the web calculator on waitress, a production WSGI server."""

from __future__ import annotations

import argparse
import logging
import socket
from typing import Any

from calculator.cli.errors import report_error

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_THREADS = 4


HELP = "run the web calculator on a production WSGI server"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}; use 0.0.0.0 "
                             "only behind a TLS-terminating proxy)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help=f"worker threads (default {DEFAULT_THREADS})")


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: a free one), closed again on failure.

    Binding here rather than inside waitress means a busy port or an unknown host leaves
    nothing half-open behind.
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port,
                                                          type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def make_server(host: str, port: int, threads: int = DEFAULT_THREADS) -> Any:
    """A waitress server for the app, listening on ``host:port`` but not yet serving.

    The caller runs it with ``server.run()`` and stops it with ``server.close()``.
    """
    # Deferred: waitress and Flask load only when the server starts.
    from waitress import create_server

    # Deferred: waitress and Flask load only when the server starts.
    from webui import MAX_BODY_BYTES, create_app
    from webui.logs import summarise_queue_warnings

    summarise_queue_warnings()
    sock = listening_socket(host, port)
    try:
        # The app answers bodies over MAX_BODY_BYTES with its own 413 page; waitress only
        # refuses to buffer absurd ones (e.g. endless chunked uploads).
        return create_server(create_app(), sockets=[sock], threads=threads,
                             ident="hcc-prognosis", clear_untrusted_proxy_headers=True,
                             max_request_body_size=64 * MAX_BODY_BYTES)
    except BaseException:
        sock.close()
        raise


def stop_server(server: Any) -> None:
    """Stop a server whose ``run()`` loop is in another thread, leaving nothing open.

    The closing runs inside the loop's own thread (through waitress's trigger), which
    then finds nothing left to serve and returns; the worker threads are stopped after.
    """
    def close_every_channel() -> None:
        for channel in list(server._map.values()):
            channel.handle_close()

    server.trigger.pull_trigger(close_every_channel)


def server_url(server: Any) -> str:
    """The URL a browser opens for a bound waitress server."""
    host = str(server.effective_host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.effective_port}/"


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        return report_error("serve", f"--port must be between 0 and 65535; got {args.port}")
    if args.threads < 1:
        return report_error("serve", f"--threads must be at least 1; got {args.threads}")
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server = make_server(args.host, args.port, args.threads)
    except OSError as error:
        return report_error("serve", f"cannot listen on {args.host}:{args.port}: "
                                     f"{error.strerror or error}")
    print(f"hcc-prognosis web calculator on {server_url(server)} (Ctrl+C to stop)",
          flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
