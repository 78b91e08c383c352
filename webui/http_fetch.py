"""Fetching JSON from another server on behalf of a request, within fixed bounds.

The CDS Hooks service reads a patient's labs from the EHR's FHIR server, and the EHR's
public keys from a JWKS URL. Each such fetch is bounded so that a slow, huge or
misdirecting answer cannot hold or harm the calculator:

* **time**: a connect timeout, a per-read timeout and an overall deadline for the whole
  answer (a server dripping one byte at a time is cut off);
* **size**: the body is read in chunks and refused past :attr:`FetchLimits.max_bytes`
  (counted after decompression, so a compressed bomb is cut off too);
* **where**: redirects are followed only to the same scheme, host and port, at most
  :attr:`FetchLimits.max_redirects` times; no proxy, ``.netrc`` or cookie from the
  environment is used (``trust_env`` off).

Errors are :class:`FetchError`, whose message names the URL's host and what went wrong,
never the answer's body (it may hold patient data) and never the URL's path or query
(it may hold a patient id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from calculator import InputError
from calculator.fhir import parse_json

# urllib3 (under requests) logs every request's URL, whose query holds a patient id, at
# DEBUG, and URLs again in retry warnings: nothing of a request may reach a log.
logging.getLogger("urllib3").setLevel(logging.CRITICAL)

#: Media types a JSON answer may carry (FHIR servers answer application/fhir+json).
JSON_TYPES: Final = ("application/json", "application/fhir+json", "application/jwk-set+json")


@dataclass(frozen=True)
class FetchLimits:
    """How long and how much one fetch may take."""

    connect_timeout_s: float = 3.0
    read_timeout_s: float = 5.0
    deadline_s: float = 8.0
    max_bytes: int = 1024 * 1024
    max_redirects: int = 3


class FetchError(Exception):
    """A fetch that did not give usable JSON; the message says why in a sentence."""


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of a URL (the port made explicit).

    >>> origin("https://EHR.example.org/fhir"), origin("http://127.0.0.1:8080/x")
    (('https', 'ehr.example.org', 443), ('http', '127.0.0.1', 8080))
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port or default


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy, .netrc credentials or CA bundle from the env
    return session


def get_json(url: str, headers: Mapping[str, str], limits: FetchLimits) -> object:
    """GET ``url`` and return its JSON (decimals exact), within ``limits``.

    Raises
    ------
    FetchError
        On a timeout, a connection failure, a redirect elsewhere, a status other than 200,
        an answer that is not JSON or one larger than ``limits.max_bytes``.
    """
    host = origin(url)[1] or "the server"
    start = time.monotonic()
    current = url
    with _session() as session:
        for _ in range(limits.max_redirects + 1):
            try:
                response = session.get(current, headers=dict(headers), stream=True,
                                       allow_redirects=False,
                                       timeout=(limits.connect_timeout_s,
                                                limits.read_timeout_s))
            except requests.Timeout:
                raise FetchError(f"{host} did not answer within "
                                 f"{limits.read_timeout_s:g} s") from None
            except requests.RequestException:
                raise FetchError(f"{host} could not be reached") from None
            with response:
                if response.is_redirect:
                    target = urljoin(current, response.headers.get("Location", ""))
                    if origin(target) != origin(url):
                        raise FetchError(f"{host} redirected to another host "
                                         f"({origin(target)[1] or 'unknown'}); not followed")
                    current = target
                    continue
                if response.status_code != 200:
                    raise FetchError(f"{host} answered HTTP {response.status_code}")
                body = _read_body(response, limits, start, host)
            try:
                return parse_json(body)
            except InputError:
                raise FetchError(f"{host} did not answer with JSON") from None
    raise FetchError(f"{host} redirected more than {limits.max_redirects} times")


def _read_body(response: requests.Response, limits: FetchLimits, start: float,
               host: str) -> bytes:
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind not in JSON_TYPES:
        raise FetchError(f"{host} answered {kind or 'without a Content-Type'}, not JSON")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchError(f"{host} answered more than {limits.max_bytes // 1024} KiB")
    chunks: list[bytes] = []
    size = 0
    try:
        # read1: what has arrived (up to 64 KiB), so the deadline is checked while a slow
        # server drips its answer, not only once a whole block is in
        while chunk := response.raw.read1(64 * 1024, decode_content=True):
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchError(f"{host} answered more than {limits.max_bytes // 1024} KiB")
            if time.monotonic() - start > limits.deadline_s:
                raise FetchError(f"{host} took longer than {limits.deadline_s:g} s to answer")
            chunks.append(chunk)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        raise FetchError(f"{host} broke off its answer") from None
    return b"".join(chunks)
