"""What every answer of the app carries, and what no request can make it do.

* **Headers.** Every response the app produces carries the security headers below and,
  except the static files, ``Cache-Control: no-store`` (pages and API answers may hold a
  patient's values or a CSRF token). They are added by a WSGI middleware around the whole
  app, so even Flask's last-resort error answer has them.
* **Host.** The ``Host`` header is checked before anything reads it: a name that is not a
  valid host name (a label over 63 characters, ``a..b``, ``.``, spaces, non-ASCII) gets
  the app's own 400 page. With ``TRUSTED_HOSTS`` set (e.g. the environment variable
  ``FLASK_TRUSTED_HOSTS='["calc.example.org"]'``) any other host gets the same 400.
* **Redirects.** A ``Location`` the app sends (e.g. Werkzeug's ``//healthz`` ->
  ``/healthz``) is made a path on this site, never a URL built from the request's Host.
* **Links.** Pages link with :func:`link`, which builds paths from the URL map alone, so
  an error page renders even when the Host could not be used for routing.

No page has an inline script or style or a third-party resource; the only script is the
app's own ``static/result.js`` (copy and print buttons), so the Content Security Policy
allows the app's own files and nothing inline.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, abort, current_app, request
from werkzeug.sansio.utils import host_is_trusted

CONTENT_SECURITY_POLICY: Final = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
))

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}

#: A DNS label (letters, digits, hyphens, and the underscores some container networks
#: use), 1-63 characters, not starting or ending with a hyphen.
_LABEL: Final = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_HOST: Final = re.compile(
    rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?")
MAX_PORT: Final = 65535
MAX_HOST_LENGTH: Final = 253 + 6  # a full domain name and a port


def valid_host(host: str) -> bool:
    """Whether a Host header is a well-formed host name or IP literal, optional port.

    >>> valid_host("calc.example.org:8000"), valid_host("127.0.0.1"), valid_host("[::1]:80")
    (True, True, True)
    >>> valid_host("a..b"), valid_host("."), valid_host("a" * 64), valid_host("x y")
    (False, False, False, False)
    >>> valid_host("localhost:65536")
    False
    """
    found = _HOST.fullmatch(host) if len(host) <= MAX_HOST_LENGTH else None
    return found is not None and int(found.group("port") or 0) <= MAX_PORT


def check_host() -> None:
    """Refuse (400) a request whose Host is malformed or, with ``TRUSTED_HOSTS`` set, not
    trusted; runs before anything else reads the Host."""
    host = request.environ.get("HTTP_HOST")
    if host is None:  # HTTP/1.0 without Host: the server's own name is used
        return
    if not valid_host(host):
        abort(400, "The request named a host that is not a valid host name.")
    trusted = current_app.config.get("TRUSTED_HOSTS")
    if trusted is not None and not host_is_trusted(host, trusted):
        abort(400, "This server does not answer for the host named in the request.")


def relative_redirect(response: Response) -> Response:
    """Make a redirect's ``Location`` a path on this site, whatever Host was sent."""
    location = response.headers.get("Location")
    if location and 300 <= response.status_code < 400:
        parts = urlsplit(location)
        path = "/" + parts.path.lstrip("/")  # "//evil" would name another host
        response.headers["Location"] = urlunsplit(("", "", path, parts.query, ""))
    return response


def link(endpoint: str, **values: Any) -> str:
    """The path of ``endpoint`` on this site, built from the URL map and the mount point
    (``SCRIPT_NAME``) only, never from the Host; what the templates use instead of
    ``url_for``."""
    adapter = current_app.url_map.bind("app.invalid", script_name=request.script_root or "/")
    return adapter.build(endpoint, values)


StartResponse = Callable[..., Any]


#: The answer when even the app's error page failed (its template, say).
LAST_RESORT: Final = (b"Something went wrong on the server. Nothing you entered was stored; "
                      b"please try again.\n")


class SecurityHeadersMiddleware:
    """Add the security headers (and ``no-store`` outside the static files) to every
    response that leaves the app, whatever produced it; if the app fails even to make an
    error page, answer a plain 500 with the same headers (logged by type and place only,
    as :class:`webui.logs.CalculatorFlask` logs errors, since a message may quote input).
    """

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
                 static_prefix: str, propagate: Callable[[], bool] = lambda: False) -> None:
        self.app = app
        self.static_prefix = static_prefix.rstrip("/") + "/"
        self.propagate = propagate

    def __call__(self, environ: dict[str, Any],
                 start_response: StartResponse) -> Iterable[bytes]:
        static = environ.get("PATH_INFO", "").startswith(self.static_prefix)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            cacheable = static and status[:3] in ("200", "304")
            extra = {**SECURITY_HEADERS, **({} if cacheable else NO_STORE)}
            kept = [(k, v) for k, v in headers if k.lower() not in
                    {name.lower() for name in extra}]
            return start_response(status, kept + list(extra.items()), exc_info)

        try:
            return self.app(environ, start)
        except Exception:
            if self.propagate():  # tests want the traceback
                raise
            _log_failure(sys.exc_info()[2])
            # Flask raised out of its wsgi_app, so nothing was started yet.
            start("500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8"),
                                                ("Content-Length", str(len(LAST_RESORT)))])
            return [LAST_RESORT]


def _log_failure(tb: TracebackType | None) -> None:
    frames = traceback.extract_tb(tb) if tb is not None else []
    where = " <- ".join(f"{f.filename}:{f.lineno} in {f.name}" for f in reversed(frames))
    logging.getLogger("webui").error("the error page itself failed at %s",
                                     where or "unknown location")


def register_security(app: Flask) -> None:
    """Host check first (before CSRF or anything else reads the Host), relative
    redirects, and the header middleware around the whole app."""
    app.before_request(check_host)
    app.after_request(relative_redirect)
    app.wsgi_app = SecurityHeadersMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, app.static_url_path or "/static",
        propagate=lambda: bool(app.config["PROPAGATE_EXCEPTIONS"] or app.testing))
    app.jinja_env.globals["link"] = link
