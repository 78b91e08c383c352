"""Verifying the JWT with which an EHR authenticates a CDS Hooks call.

CDS Hooks 2.0 ("Trusting CDS Clients") has the EHR sign a JSON Web Token for every call
and send it as ``Authorization: Bearer <jwt>``. Before the service reads anything of the
request, :meth:`TokenVerifier.verify` checks, with the JOSE library ``joserfc``:

* the header: ``typ`` JWT, an asymmetric ``alg`` (:data:`ALGORITHMS`; never ``none`` nor
  an HMAC, which the specification forbids) and a ``kid``;
* the signature, with the key of that ``kid`` from the configured JWKS (a file, or an
  https URL fetched through :mod:`webui.http_fetch` and cached); a ``jku`` in the header
  is never followed, so a token cannot bring its own keys;
* the claims: ``iss`` on the allow-list, ``aud`` equal to the URL of the service being
  called, ``exp`` not passed and at most :attr:`TokenVerifier.max_lifetime_s` away,
  ``iat`` not in the future (both with :attr:`TokenVerifier.leeway_s` for clock skew),
  and a ``jti`` never seen before from that issuer (:class:`ReplayCache`).

Anything else is an :class:`AuthError` (the caller answers 401 and no card). The reason
is given to the caller, never logged with anything from the token.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

from webui.http_fetch import FetchError, FetchLimits, get_json

#: Signature algorithms accepted: asymmetric only (CDS Hooks 2.0 recommends ES384 and
#: RS384 and forbids ``none`` and symmetric ones).
ALGORITHMS: Final = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512",
                     "PS256", "PS384", "PS512")
#: Key types read from a JWKS (a symmetric "oct" key is never a verification key here).
PUBLIC_KEY_TYPES: Final = ("RSA", "EC")
#: Longest token read (a signed CDS Hooks JWT is well under 2 KiB).
MAX_TOKEN_CHARS: Final = 8192
MAX_JTI_CHARS: Final = 256


class AuthError(Exception):
    """A request that did not prove it comes from a trusted EHR; says why briefly."""


def public_key_set(data: object, where: str) -> KeySet:
    """The RSA and EC public keys of a JWKS document (other keys are left out).

    Raises
    ------
    ValueError
        If the document is not a JWKS or has no usable key.
    """
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError(f"{where} is not a JWKS (a JSON object with a 'keys' list)")
    keys = [k for k in data["keys"] if isinstance(k, dict) and k.get("kty") in
            PUBLIC_KEY_TYPES and isinstance(k.get("kid"), str)]
    public = [{name: value for name, value in key.items()
               if name not in ("d", "p", "q", "dp", "dq", "qi", "oth")} for key in keys]
    try:
        key_set = KeySet.import_key_set({"keys": public})
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{where} holds a key that cannot be read ({error})") from None
    if not public:
        raise ValueError(f"{where} has no RSA or EC key with a kid")
    return key_set


class KeySource:
    """The EHR's public keys: a JWKS file read once, or a JWKS URL fetched when first
    needed, cached for ``ttl_s`` and fetched again (at most every ``min_refresh_s``) when
    a token names a ``kid`` it does not hold (the EHR rotated its keys)."""

    def __init__(self, location: str, limits: FetchLimits, ttl_s: float = 300.0,
                 min_refresh_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.location = location
        self.limits = limits
        self.ttl_s = ttl_s
        self.min_refresh_s = min_refresh_s
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = -math.inf
        if not self.is_url:
            self._keys = public_key_set(_read_json_file(location), f"the JWKS file {location}")

    @property
    def is_url(self) -> bool:
        return self.location.startswith(("https://", "http://"))

    def keys_for(self, kid: str) -> KeySet:
        """The key set, holding ``kid`` if the EHR publishes it."""
        if not self.is_url:
            assert self._keys is not None
            return self._keys
        with self._lock:
            now = self.clock()
            stale = now - self._fetched_at > self.ttl_s
            unknown = self._keys is None or not _has_kid(self._keys, kid)
            if stale or (unknown and now - self._fetched_at > self.min_refresh_s):
                try:
                    data = get_json(self.location, {"Accept": "application/json"},
                                    self.limits)
                    self._keys = public_key_set(data, "the JWKS URL")
                except (FetchError, ValueError) as error:
                    if self._keys is None:
                        raise AuthError(f"the EHR's keys could not be loaded: {error}") \
                            from None
                self._fetched_at = now
            if self._keys is None:  # pragma: no cover - set or raised above
                raise AuthError("the EHR's keys could not be loaded")
            return self._keys


def _read_json_file(path: str) -> object:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"the JWKS file {path} cannot be read "
                         f"({error.strerror or error})") from None
    except ValueError:
        raise ValueError(f"the JWKS file {path} is not JSON") from None


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys)


class ReplayCache:
    """The ``jti`` of every token accepted and not yet expired, per issuer: a token is
    accepted once. Bounded: when full of unexpired tokens, new ones are refused (401)
    rather than forgetting one that could then be replayed."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def first_use(self, issuer: str, jti: str, expires: float, now: float) -> bool:
        """Record the token; False if it was seen before (a replay).

        Raises
        ------
        AuthError
            When the cache is full of tokens that have not expired.
        """
        key = (issuer, jti)
        with self._lock:
            if key in self._seen:
                return False
            if len(self._seen) >= self.max_entries:
                self._seen = {k: e for k, e in self._seen.items() if e >= now}
                if len(self._seen) >= self.max_entries:
                    raise AuthError("too many tokens in use at once; try again shortly")
            self._seen[key] = expires
            return True


@dataclass
class TokenVerifier:
    """Checks an EHR's bearer JWT for one service URL (see the module's list)."""

    issuers: Sequence[str]
    keys: KeySource
    replay: ReplayCache
    leeway_s: int = 60
    max_lifetime_s: int = 600
    clock: Callable[[], float] = time.time

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The token's claims if it is valid for ``audience``; :class:`AuthError` if not."""
        token = _bearer_token(authorization)
        header = _header(token)
        keys = self.keys.keys_for(header["kid"])
        if not _has_kid(keys, header["kid"]):
            raise AuthError("the token was signed with a key the EHR does not publish "
                            "(unknown kid)")
        try:
            claims = jwt.decode(token, keys, algorithms=list(ALGORITHMS)).claims
        except (JoseError, ValueError, TypeError, KeyError):
            raise AuthError("the token's signature is not valid") from None
        now = self.clock()
        registry = jwt.JWTClaimsRegistry(
            now=int(now), leeway=self.leeway_s,
            iss={"essential": True, "values": list(self.issuers)},
            aud={"essential": True, "value": audience},
            exp={"essential": True}, iat={"essential": True}, jti={"essential": True})
        try:
            registry.validate(claims)
        except JoseError as error:
            raise AuthError(_claim_problem(error, audience)) from None
        except (TypeError, ValueError):
            raise AuthError("the token's claims are not valid") from None
        expires, jti = claims["exp"], claims["jti"]
        if isinstance(expires, bool) or not isinstance(expires, (int, float)) \
                or not math.isfinite(expires):
            raise AuthError("the token's exp is not a time")
        if expires > now + self.max_lifetime_s + self.leeway_s:
            raise AuthError(f"the token is valid for longer than {self.max_lifetime_s} s; "
                            "CDS Hooks tokens are for one call")
        if not isinstance(jti, str) or len(jti) > MAX_JTI_CHARS:
            raise AuthError("the token's jti must be a short text")
        if not self.replay.first_use(str(claims["iss"]), jti, float(expires), now):
            raise AuthError("the token was already used (replayed jti)")
        return claims


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("the request carries no Authorization: Bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("the Authorization header must be 'Bearer <JWT>'")
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthError("the bearer token is too long to be a CDS Hooks JWT")
    return token


def _header(token: str) -> dict[str, Any]:
    """The token's protected header, checked before any key is looked up."""
    try:
        header = dict(jws.extract_compact(token.encode("ascii")).headers())
    except (JoseError, ValueError, TypeError, KeyError, UnicodeError):
        raise AuthError("the bearer token is not a signed JWT") from None
    if str(header.get("typ", "")).upper() != "JWT":
        raise AuthError("the token's typ must be JWT")
    if header.get("alg") not in ALGORITHMS:
        raise AuthError(f"the token's alg must be one of {', '.join(ALGORITHMS)}")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise AuthError("the token names no key (kid)")
    return header


def _claim_problem(error: JoseError, audience: str) -> str:
    """Which claim failed, in words (joserfc names it on the error)."""
    claim = str(getattr(error, "claim", "") or "")
    if isinstance(error, ExpiredTokenError):
        return "the token has expired"
    if isinstance(error, MissingClaimError):
        return f"the token has no {claim or 'required'} claim"
    return {"iss": "the token's issuer is not on this service's allow-list",
            "aud": f"the token's aud must be {audience}",
            "iat": "the token's iat is not valid (issued in the future?)",
            "nbf": "the token is not valid yet",
            "exp": "the token's exp is not a time",
            "jti": "the token's jti is empty"}.get(claim, "the token's claims are not valid")
