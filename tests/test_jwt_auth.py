"""The JWT verifier's parts that a request alone does not reach: the replay cache's bound,
keys from a URL that fails, and a JWKS document's keys."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.fhir_server_double import running
from webui.http_fetch import FetchLimits
from webui.jwt_auth import AuthError, KeySource, ReplayCache, TokenVerifier, public_key_set

KEY = ECKey.generate_key("P-256", parameters={"kid": "k1"}, private=True)
AUD = "https://calc.example.org/cds-services/hcc-prognosis"
LIMITS = FetchLimits(connect_timeout_s=0.5, read_timeout_s=0.5, deadline_s=1.0)


def token(**claims: object) -> str:
    now = int(time.time())
    return jwt.encode({"alg": "ES256", "typ": "JWT", "kid": "k1"},
                      {"iss": "ehr", "aud": AUD, "exp": now + 60, "iat": now,
                       "jti": str(uuid.uuid4()), **claims}, KEY, algorithms=["ES256"])


def verifier(tmp_path: Path, replay: ReplayCache | None = None) -> TokenVerifier:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [KEY.as_dict(private=False)]}))
    return TokenVerifier(("ehr",), KeySource(str(path), LIMITS), replay or ReplayCache())


def test_a_full_replay_cache_refuses_rather_than_forgets(tmp_path: Path) -> None:
    check = verifier(tmp_path, ReplayCache(max_entries=2))
    check.verify(f"Bearer {token()}", AUD)
    check.verify(f"Bearer {token()}", AUD)
    with pytest.raises(AuthError, match="too many tokens"):
        check.verify(f"Bearer {token()}", AUD)


def test_expired_entries_make_room() -> None:
    cache = ReplayCache(max_entries=1)
    assert cache.first_use("ehr", "a", expires=100.0, now=50.0)
    assert not cache.first_use("ehr", "a", expires=100.0, now=60.0)
    assert cache.first_use("ehr", "b", expires=300.0, now=200.0)  # "a" expired at 100


def test_the_same_jti_from_two_issuers_is_two_tokens() -> None:
    cache = ReplayCache()
    assert cache.first_use("ehr-1", "j", 1e12, 0) and cache.first_use("ehr-2", "j", 1e12, 0)
    assert not cache.first_use("ehr-1", "j", 1e12, 0)


def test_a_jwks_url_that_cannot_be_read_gives_401_saying_so() -> None:
    with running() as server:
        server.mode = "ok"
        url = server.jwks_url
    keys = KeySource(url, LIMITS)  # the server is gone now
    check = TokenVerifier(("ehr",), keys, ReplayCache())
    with pytest.raises(AuthError, match="keys could not be loaded"):
        check.verify(f"Bearer {token()}", AUD)


def test_keys_fetched_once_are_kept_when_the_url_fails_later() -> None:
    with running() as server:
        server.jwks = {"keys": [KEY.as_dict(private=False)]}
        clock = [0.0]
        keys = KeySource(server.jwks_url, LIMITS, ttl_s=10, clock=lambda: clock[0])
        check = TokenVerifier(("ehr",), keys, ReplayCache())
        check.verify(f"Bearer {token()}", AUD)
        server.jwks = {"not": "a jwks"}
        clock[0] = 20.0  # stale: fetched again, the bad answer is not taken
        check.verify(f"Bearer {token()}", AUD)
    assert len(server.requests) == 2


def test_a_jwks_keeps_only_public_asymmetric_keys() -> None:
    private = KEY.as_dict(private=True)
    keys = public_key_set({"keys": [private, {"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]},
                          "test")
    [only] = list(keys)
    assert only.kid == "k1" and not only.is_private
    for bad in ({}, {"keys": "x"}, {"keys": [{"kty": "oct", "k": "x", "kid": "s"}]}):
        with pytest.raises(ValueError):
            public_key_set(bad, "test")
