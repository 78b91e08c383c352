"""Error answers: an HTML page for people, the error JSON for API clients."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webui.forms import posted_form
from webui.placed_errors import PlacedErrors

API_PREFIX = "/api/"
#: Paths answered with the error JSON rather than an HTML page.
JSON_PREFIXES = (API_PREFIX, "/cds-services")

_EXPLANATIONS: dict[int, str] = {
    400: "The request could not be read.",
    404: "There is no page at this address.",
    405: "This address does not accept that kind of request.",
    413: "The submission is larger than any form of this calculator can be; nothing was "
         "read from it.",
    415: "The API accepts JSON only (Content-Type: application/json).",
    500: "Something went wrong on the server. Nothing you entered was stored; please try "
         "again.",
}


def api_error(status: int, field: str | None, message: str,
              allowed: str | None = None) -> tuple[Response, int]:
    """An error JSON answer (``{"errors": [...]}``), the shape of a 422's."""
    problem: dict[str, Any] = {"field": field, "value": None, "unit": None,
                               "allowed": allowed, "hint": None, "message": message}
    return jsonify({"errors": [problem]}), status


def _wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES)


def _http_error(error: HTTPException) -> tuple[Response | str, int]:
    status = error.code or 500
    own = error.description if error.description != type(error).description else None
    message = own or _EXPLANATIONS.get(status, error.description or error.name)
    if _wants_json():
        return api_error(status, "request", message)
    return render_template("error.html", status=status, title=error.name,
                           message=message), status


def _server_error(error: InternalServerError) -> tuple[Response | str, int]:
    if _wants_json():
        return api_error(500, "request", _EXPLANATIONS[500])
    return render_template("error.html", status=500, title="Server error",
                           message=_EXPLANATIONS[500]), 500


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    """The form came back without a valid token (expired, or posted from elsewhere).

    The form is shown again with the values kept so the clinician can check and resend
    them; nothing was scored.
    """
    notice = ("The form had expired or did not come from this page, so nothing was "
              "calculated. Check the values below and press Calculate again.")
    return render_template("form.html", form=posted_form(), errors=PlacedErrors(),
                           notice=notice), 400


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _http_error)
