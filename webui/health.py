"""``GET /healthz``: the process is up and can answer."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from calculator import __version__

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok", "version": __version__})
