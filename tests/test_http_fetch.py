"""Fetching JSON within bounds, against the FHIR server test double over real HTTP."""

from __future__ import annotations

import pytest

from tests.fhir_server_double import running
from webui.http_fetch import FetchError, FetchLimits, get_json, origin

LIMITS = FetchLimits(connect_timeout_s=0.5, read_timeout_s=0.5, deadline_s=1.0,
                     max_bytes=64 * 1024, max_redirects=2)


def test_origin_makes_the_default_port_explicit() -> None:
    assert origin("https://a.example/x") == origin("https://A.example:443/y")
    assert origin("http://a.example/x") != origin("https://a.example/x")


def test_a_good_answer_is_read_and_the_headers_sent() -> None:
    with running() as server:
        found = get_json(f"{server.base}/Observation?code=x", {
            "Authorization": f"Bearer {server.token}"}, LIMITS)
    assert isinstance(found, dict) and found["resourceType"] == "Bundle"


@pytest.mark.parametrize(("mode", "words"), [
    ("redirect-elsewhere", "another host"), ("huge", "more than 64 KiB"),
    ("slow", "did not answer within 0.5 s"), ("drip", "longer than 1 s"),
    ("error", "HTTP 500"), ("not-json", "text/html, not JSON")])
def test_each_bound_holds(mode: str, words: str) -> None:
    with running() as server:
        server.mode = mode
        with pytest.raises(FetchError, match=words) as caught:
            get_json(f"{server.base}/Observation?patient=p-secret",
                     {"Authorization": f"Bearer {server.token}"}, LIMITS)
    assert "p-secret" not in str(caught.value)  # never the URL's query


def test_nothing_listens() -> None:
    with running() as server:
        url = server.base
    with pytest.raises(FetchError, match="could not be reached"):
        get_json(url, {}, LIMITS)
