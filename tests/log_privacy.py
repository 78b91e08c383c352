"""Reading a log for patient values without mistaking the server's own numbers for them.

An access-log line is ``METHOD ROUTE STATUS ELAPSED ms``; its elapsed time (e.g.
``34.7 ms``) and each line's timestamp are the server's own numbers and can look like a lab
value (albumin 3,47 g/dL is 34.7 g/L). Every access line is first checked to have exactly
that form, so that nothing else can hide in it; then the timestamp and the elapsed time
are taken out and the rest of the log is searched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from webui.logs import ACCESS_LOGGER

ACCESS_MESSAGE = re.compile(
    r"(?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) (?:/[\w/.<>:-]*|<unmatched>) \d{3} "
    r"(?P<elapsed>\d+\.\d|nan) ms")
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ (?P<name>[\w.]+): "
                      r"(?P<message>.*)")


def access_message_without_timing(message: str) -> str:
    """An access-log message with its elapsed time taken out; fails unless the message
    has exactly the access-log form."""
    found = ACCESS_MESSAGE.fullmatch(message)
    assert found, f"an access-log line of an unexpected form: {message!r}"
    return message[:found.start("elapsed")] + "<elapsed>" + message[found.end("elapsed"):]


def searchable(log_text: str) -> str:
    """A server log (``%(asctime)s %(levelname)s %(name)s: %(message)s``) with timestamps
    and access-log timings taken out; every other character kept."""
    kept = []
    for line in log_text.splitlines():
        found = LOG_LINE.fullmatch(line)
        if found is None:
            kept.append(line)
        elif found["name"] == ACCESS_LOGGER:
            kept.append(access_message_without_timing(found["message"]))
        else:
            kept.append(found["message"])
    return "\n".join(kept)


def leaked(text: str, values: Iterable[str]) -> list[str]:
    """The values found in ``text`` as whole numbers (not inside a longer one)."""
    return [v for v in values if re.search(rf"(?<![\d.,]){re.escape(v)}(?![\d])", text)]
