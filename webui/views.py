"""The bedside pages: the form (``GET /``) and the result page (``POST /``)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request

from calculator import InputError, score
from calculator.note import format_time, record_note
from webui.forms import ScoreForm, posted_form
from webui.placed_errors import place_errors
from webui.result_view import result_context

bp = Blueprint("calculator", __name__)

#: Value of the ``action`` button that re-opens the form with the values of a result.
EDIT_ACTION = "edit"


@bp.get("/")
def form() -> str:
    """The empty form. A query string is ignored: lab values are read from POST bodies."""
    return render_template("form.html", form=ScoreForm(formdata=None), errors=place_errors(None))


@bp.post("/")
def submit() -> tuple[str, int]:
    """Score the posted form (CSRF was checked before this runs).

    Returns the result page (200), the form again with each problem next to its field
    (422), or the form filled in again when the user asked to change the values (200).
    """
    form = posted_form()
    if request.form.get("action") == EDIT_ACTION:
        return render_template("form.html", form=form, errors=place_errors(None)), 200
    now = datetime.now().astimezone()  # the time of calculation; the core reads no clock
    try:
        profile = score(form.raw_inputs(), now)
    except InputError as error:
        return render_template("form.html", form=form, errors=place_errors(error)), 422
    return render_template("result.html", form=form, raw=form.raw_inputs(),
                           note=record_note(profile), calculated=format_time(now),
                           **result_context(profile)), 200
