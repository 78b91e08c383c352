"""Logging that never carries a patient's value.

Lab values arrive only in request bodies and come back only in response bodies; neither
is logged. The access log names the route pattern (``/api/v1/score``), never the URL as
sent, so not even a stray query string reaches it, and an unhandled exception is logged
by its type and code location only, because its message may quote an input.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Final

from flask import Flask, Response, g, request

ACCESS_LOGGER: Final = "webui.access"
#: waitress's logger of "Task queue depth is N", written for every request that waits.
QUEUE_LOGGER: Final = "waitress.queue"
#: At most one queue-depth warning per this many seconds reaches the log.
QUEUE_WARNING_INTERVAL_S: Final = 10.0


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


class QueueDepthSummary(logging.Filter):
    """Let one "Task queue depth" warning through per interval, carrying the peak depth
    and the number held back since the last one.

    waitress warns once for every request that has to wait for a worker thread: under
    load (8 clients, 4 threads) that was about 14,000 lines in 20 seconds, which buries
    everything else. The signal (requests are queuing, and how deep) is kept.
    """

    def __init__(self, interval_s: float = QUEUE_WARNING_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._held = 0
        self._peak = 0

    def filter(self, record: logging.LogRecord) -> bool:
        depth = record.args[0] if isinstance(record.args, tuple) and record.args else 0
        with self._lock:
            now = self.clock()
            self._peak = max(self._peak, int(depth) if isinstance(depth, int) else 0)
            if self._last is not None and now - self._last < self.interval_s:
                self._held += 1
                return False
            if self._held:
                record.msg = ("Task queue depth is %d (peak %d; %d similar warnings in the "
                              "last %.0f s not logged)")
                record.args = (depth, self._peak, self._held,
                               now - self._last if self._last is not None else 0.0)
            self._last, self._held, self._peak = now, 0, 0
            return True


def summarise_queue_warnings(logger: logging.Logger | None = None) -> QueueDepthSummary:
    """Install :class:`QueueDepthSummary` on waitress's queue logger (once)."""
    logger = logger or logging.getLogger(QUEUE_LOGGER)
    for existing in logger.filters:
        if isinstance(existing, QueueDepthSummary):
            return existing
    summary = QueueDepthSummary()
    logger.addFilter(summary)
    return summary
