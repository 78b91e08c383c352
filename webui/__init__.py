"""The bedside web calculator: a Flask app over the scoring core.

``create_app()`` builds the app from blueprints: the form and result pages
(:mod:`webui.views`), the JSON API and its OpenAPI document (:mod:`webui.api`), the
evidence page (:mod:`webui.evidence_view`), the CDS Hooks service (:mod:`webui.cds`, off
unless configured) and the health check (:mod:`webui.health`). The web layer holds no
scoring logic: it hands what was entered to :func:`calculator.score` and shows what comes
back. Nothing entered is stored, logged or cached.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any, Final

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from calculator import __version__, published
from calculator.labels import LABELS
from webui import api, cds, evidence_view, health, views
from webui.error_pages import register_error_handlers
from webui.field_help import field_help
from webui.forms import DISPLAY_ORDER, UNIT_FIELDS, options
from webui.logs import CalculatorFlask, register_access_log
from webui.presentation import register_filters
from webui.security import register_security

#: Larger than any form or API body of this calculator (about 1 KiB), far smaller than
#: anything that could load the server.
MAX_BODY_BYTES: Final = 16 * 1024

#: Environment variable with a secret key shared by several server processes; without it
#: each process makes its own (the key signs only the CSRF token's cookie).
SECRET_KEY_ENV: Final = "HCC_PROGNOSIS_SECRET_KEY"

csrf = CSRFProtect()


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web calculator.

    Parameters
    ----------
    test_config
        Settings that override the defaults (e.g. ``{"TESTING": True}``).
    """
    app = CalculatorFlask(__name__)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get(SECRET_KEY_ENV) or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        WTF_CSRF_TIME_LIMIT=12 * 3600,  # a form left open through a long shift still works
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    # Deployment settings from FLASK_* variables, e.g. FLASK_SESSION_COOKIE_SECURE=true
    # behind a TLS proxy, FLASK_TRUSTED_HOSTS='["calc.example.org"]' (values are read as
    # JSON).
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.update(test_config)

    register_access_log(app)  # first, so that it times every request
    register_security(app)  # the Host check before CSRF or anything else reads the Host
    csrf.init_app(app)
    csrf.exempt(api.bp)
    csrf.exempt(cds.bp)  # JSON only, authenticated by the EHR's signed JWT
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    cds.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(evidence_view.bp)
    register_error_handlers(app)
    register_filters(app)
    app.jinja_env.globals.update(
        version=__version__, published=published, help_text=field_help(), labels=LABELS,
        display_order=DISPLAY_ORDER, unit_fields=UNIT_FIELDS, options=options)
    return app
