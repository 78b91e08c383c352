"""Logging that never carries a patient's value.

Lab values arrive only in request bodies and come back only in response bodies; neither
is logged. The access log names the route pattern (``/api/v1/score``), never the URL as
sent, so not even a stray query string reaches it, and an unhandled exception is logged
by its type and code location only, because its message may quote an input.
"""

from __future__ import annotations

import logging
import time
import traceback
from types import TracebackType
from typing import Final

from flask import Flask, Response, g, request

ACCESS_LOGGER: Final = "webui.access"


class CalculatorFlask(Flask):
    """Flask whose exception log omits the exception's message."""

    def log_exception(
        self, exc_info: tuple[type[BaseException], BaseException, TracebackType]
        | tuple[None, None, None],
    ) -> None:
        exc_type, _, tb = exc_info
        frames = traceback.extract_tb(tb) if tb is not None else []
        where = " <- ".join(f"{f.filename}:{f.lineno} in {f.name}" for f in reversed(frames))
        self.logger.error("unhandled %s on %s %s at %s",
                          exc_type.__name__ if exc_type else "exception", request.method,
                          _route(), where or "unknown location")


def _route() -> str:
    """The matched route pattern, or ``<unmatched>``: never the path or query as sent."""
    return request.url_rule.rule if request.url_rule is not None else "<unmatched>"


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _log_access(response: Response) -> Response:
    started = g.get("request_started")
    elapsed_ms = (time.perf_counter() - started) * 1000 if started is not None else float("nan")
    logging.getLogger(ACCESS_LOGGER).info("%s %s %d %.1f ms", request.method, _route(),
                                          response.status_code, elapsed_ms)
    return response


def register_access_log(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_log_access)
