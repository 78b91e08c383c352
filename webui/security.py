"""Response headers that every page and API answer carries.

No page has a script, an inline style or a third-party resource, so the Content Security
Policy allows only the app's own stylesheet and images and nothing inline.
"""

from __future__ import annotations

from typing import Final

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY: Final = "; ".join((
    "default-src 'none'",
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


def add_security_headers(response: Response) -> Response:
    """Set the security headers; forbid caching of everything but the static files.

    Pages and API answers may carry a patient's values (or a CSRF token), so no browser,
    proxy or back-forward cache may keep them.
    """
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
