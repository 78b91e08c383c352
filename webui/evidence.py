"""``GET /evidence``: the study behind the profile, on a page of its own.

The result page folds the same evidence away under the result; this page is what a CDS
Hooks card links to, a fixed address that carries no patient value.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from webui.result_view import table4_rows

bp = Blueprint("evidence", __name__)


@bp.get("/evidence")
def evidence() -> str:
    return render_template("evidence.html", table4=table4_rows(), evidence_open=True)
