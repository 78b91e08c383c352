"""Reading a patient's labs from the EHR's FHIR server, when the EHR sent no prefetch.

A CDS Hooks request may carry ``fhirServer`` (the FHIR base URL) and
``fhirAuthorization`` (a bearer token for it) instead of prefetched data. The service then
runs the same searches as its prefetch templates (:mod:`webui.cds.prefetch`), one per
lab, through :func:`webui.http_fetch.get_json` (timeouts, size limit, no redirects to
another host).

Where the service may go is checked first: the URL must be absolute ``https`` (``http``
only where the deployment lists it), with no credentials, query or fragment; and with
``HCC_PROGNOSIS_CDS_FHIR_SERVERS`` set, it must be one of the listed servers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import quote, urlsplit

from webui.http_fetch import FetchError, FetchLimits, get_json

#: A FHIR resource id (FHIR R4 datatypes, "id"): what a patient id may be.
FHIR_ID: Final = re.compile(r"[A-Za-z0-9\-.]{1,64}")
#: The prefetch token this service's templates use.
PATIENT_TOKEN: Final = "{{context.patientId}}"


class ServerRefused(ValueError):
    """A ``fhirServer`` or ``fhirAuthorization`` the service will not use."""


def check_server(url: object, allowed: Sequence[str]) -> str:
    """The FHIR base URL without a trailing slash, or :class:`ServerRefused` saying why.

    >>> check_server("https://ehr.example.org/fhir/", ())
    'https://ehr.example.org/fhir'
    >>> check_server("http://ehr.example.org/fhir", ())
    Traceback (most recent call last):
    ...
    webui.fhir_client.ServerRefused: fhirServer must be an https URL
    """
    if not isinstance(url, str) or len(url) > 2048:
        raise ServerRefused("fhirServer must be a URL")
    base = url.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ServerRefused("fhirServer must be an absolute https URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ServerRefused("fhirServer must be a base URL without credentials, query or "
                            "fragment")
    listed = [a.rstrip("/") for a in allowed]
    if listed and base not in listed:
        raise ServerRefused("fhirServer is not one of the FHIR servers this service is "
                            "configured to read (HCC_PROGNOSIS_CDS_FHIR_SERVERS)")
    if parts.scheme != "https" and base not in listed:
        raise ServerRefused("fhirServer must be an https URL")
    return base


def bearer(authorization: object) -> dict[str, str]:
    """The request headers for ``fhirAuthorization`` (CDS Hooks 2.0: ``access_token``,
    ``token_type`` "Bearer"), or none when the EHR sent none."""
    headers = {"Accept": "application/fhir+json"}
    if authorization is None:
        return headers
    if not isinstance(authorization, Mapping):
        raise ServerRefused("fhirAuthorization must be an object")
    token, kind = authorization.get("access_token"), authorization.get("token_type")
    if not isinstance(token, str) or not token or len(token) > 8192 \
            or any(c in token for c in "\r\n"):
        raise ServerRefused("fhirAuthorization.access_token must be a token")
    if not isinstance(kind, str) or kind.lower() != "bearer":
        raise ServerRefused("fhirAuthorization.token_type must be Bearer")
    return {**headers, "Authorization": f"Bearer {token}"}


def search_url(base: str, template: str, patient_id: str) -> str:
    """A prefetch template as a search URL on ``base`` for one patient.

    >>> search_url("https://ehr.example.org/fhir",
    ...            "Observation?patient={{context.patientId}}&code=http://loinc.org|1751-7",
    ...            "p-1")
    'https://ehr.example.org/fhir/Observation?patient=p-1&code=http%3A//loinc.org%7C1751-7'
    """
    if not FHIR_ID.fullmatch(patient_id):
        raise ServerRefused("context.patientId must be a FHIR id")
    path, _, query = template.partition("?")
    pairs = [pair.partition("=") for pair in query.split("&")]
    encoded = "&".join(f"{name}={quote(value.replace(PATIENT_TOKEN, patient_id), safe='/,-.')}"
                       for name, _, value in pairs)
    return f"{base}/{path}?{encoded}"


def fetch(base: str, headers: Mapping[str, str], templates: Mapping[str, str],
          patient_id: str, limits: FetchLimits) -> dict[str, object]:
    """Run each template (key -> search) against the FHIR server; key -> Bundle.

    Raises
    ------
    FetchError
        Naming the prefetch key whose search failed, and why.
    """
    found: dict[str, object] = {}
    for key, template in templates.items():
        try:
            found[key] = get_json(search_url(base, template, patient_id), headers, limits)
        except FetchError as error:
            raise FetchError(f"the search for {key} failed: {error}") from None
    return found
