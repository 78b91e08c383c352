"""The CDS Hooks service's settings, from environment variables.

=================================  ==========================================================
``HCC_PROGNOSIS_CDS_BASE_URL``     the public URL the service is reached at, before
                                   ``/cds-services`` (e.g. ``https://calc.example.org``);
                                   a token's ``aud`` must be this plus
                                   ``/cds-services/<id>``, and card links point here
``HCC_PROGNOSIS_CDS_ISSUERS``      the EHRs trusted: their JWT ``iss`` values, comma-separated
``HCC_PROGNOSIS_CDS_JWKS``         their public keys: an ``https://`` JWKS URL, or the path
                                   of a JWKS file
``HCC_PROGNOSIS_CDS_FHIR_SERVERS`` optional: the FHIR base URLs the service may read from
                                   (comma-separated); without it any ``https`` server the
                                   EHR names; an ``http`` one only when listed here
=================================  ==========================================================

With none of the three required ones set, the CDS endpoints are off and answer 404 saying
so; with some set but not all (or one unusable), they are off and the answer names what is
missing. Nothing is read from a request to decide this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from webui.http_fetch import FetchLimits

BASE_URL_ENV: Final = "HCC_PROGNOSIS_CDS_BASE_URL"
ISSUERS_ENV: Final = "HCC_PROGNOSIS_CDS_ISSUERS"
JWKS_ENV: Final = "HCC_PROGNOSIS_CDS_JWKS"
FHIR_SERVERS_ENV: Final = "HCC_PROGNOSIS_CDS_FHIR_SERVERS"
REQUIRED_ENV: Final = (BASE_URL_ENV, ISSUERS_ENV, JWKS_ENV)
#: Hosts on which an ``http`` base URL is allowed (a local test set-up).
LOCAL_HOSTS: Final = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class CdsConfig:
    """Settings of a CDS Hooks service that is on."""

    base_url: str
    issuers: tuple[str, ...]
    jwks: str
    fhir_servers: tuple[str, ...] = ()
    fetch_limits: FetchLimits = field(default_factory=FetchLimits)
    leeway_s: int = 60
    max_token_lifetime_s: int = 600

    def service_url(self, service_id: str) -> str:
        """The URL a token's ``aud`` must name for a call of ``service_id``."""
        return f"{self.base_url}/cds-services/{service_id}"


@dataclass(frozen=True)
class CdsOff:
    """The CDS endpoints are off; ``reason`` says why and what to set."""

    reason: str


def _listed(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def cds_config(environ: Mapping[str, str]) -> CdsConfig | CdsOff:
    """The settings from ``environ`` (``os.environ``), or why the service is off.

    >>> cds_config({}).reason.startswith("CDS Hooks is not configured")
    True
    >>> cds_config({BASE_URL_ENV: "https://calc.example.org/", ISSUERS_ENV: "https://ehr",
    ...             JWKS_ENV: "https://ehr/jwks.json"}).base_url
    'https://calc.example.org'
    """
    given = {name: environ.get(name, "").strip() for name in REQUIRED_ENV}
    missing = [name for name, value in given.items() if not value]
    if len(missing) == len(REQUIRED_ENV):
        return CdsOff(f"CDS Hooks is not configured on this server; set {', '.join(REQUIRED_ENV)} "
                      "to turn it on")
    if missing:
        return CdsOff(f"CDS Hooks is off: {', '.join(missing)} "
                      f"{'is' if len(missing) == 1 else 'are'} not set")
    base = given[BASE_URL_ENV].rstrip("/")
    parts = urlsplit(base)
    local = (parts.hostname or "") in LOCAL_HOSTS
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query \
            or parts.fragment or (parts.scheme == "http" and not local):
        return CdsOff(f"CDS Hooks is off: {BASE_URL_ENV} must be the service's https URL "
                      "(e.g. https://calc.example.org), without query or fragment")
    jwks = given[JWKS_ENV]
    if jwks.startswith("http://") and urlsplit(jwks).hostname not in LOCAL_HOSTS:
        return CdsOff(f"CDS Hooks is off: {JWKS_ENV} must be an https URL or a file path")
    servers = tuple(s.rstrip("/") for s in _listed(environ.get(FHIR_SERVERS_ENV, "")))
    return CdsConfig(base, _listed(given[ISSUERS_ENV]), jwks, servers)
