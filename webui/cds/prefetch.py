"""The ``patient-view`` service as discovery describes it, and its prefetch templates.

One prefetch key per lab; each asks for the patient's latest Observations with any of
that lab's LOINC codes (:data:`calculator.fhir.LAB_CODES`), newest first. Ten results per
lab leave room for preliminary or cancelled ones, which are not used. The templates keep
to CDS Hooks 2.0's recommended subset of FHIR search: a reference (``patient``), token
equality (``code``, several codes meaning "any of"), ``_sort`` and ``_count``.
"""

from __future__ import annotations

from typing import Any, Final

from calculator import published
from calculator.fhir import LAB_CODES, LAB_FIELDS, LOINC_SYSTEM
from calculator.labels import label
from calculator.profile import REQUIRED

SERVICE_ID: Final = "hcc-prognosis"
HOOK: Final = "patient-view"
#: Results asked for per lab.
RESULTS_PER_LAB: Final = 10


def template(field: str) -> str:
    """The search for one lab's latest Observations.

    >>> template("inr")  # doctest: +ELLIPSIS
    'Observation?patient={{context.patientId}}&code=http://loinc.org|6301-6,...&_sort=-date&_count=10'
    """
    codes = ",".join(f"{LOINC_SYSTEM}|{c.code}" for c in LAB_CODES if c.field == field)
    return (f"Observation?patient={{{{context.patientId}}}}&code={codes}"
            f"&_sort=-date&_count={RESULTS_PER_LAB}")


#: Prefetch key -> template, one per lab (the keys are the calculator's input names).
PREFETCH: Final[dict[str, str]] = {field: template(field) for field in LAB_FIELDS}
#: The keys without which no profile can be computed.
REQUIRED_KEYS: Final = tuple(k for k in PREFETCH if k in REQUIRED)


def discovery() -> dict[str, Any]:
    """The discovery document (CDS Hooks 2.0, "Discovery")."""
    return {"services": [{
        "hook": HOOK,
        "id": SERVICE_ID,
        "title": "HCC second-line prognosis (PNI, AFP, extrahepatic spread)",
        "description": (
            "Relative risk profile of overall survival on second-line therapy after "
            "progression on atezolizumab + bevacizumab in advanced hepatocellular "
            "carcinoma: the Prognostic Nutritional Index from the latest serum albumin and "
            "lymphocyte count, AFP and, since extrahepatic spread is not a lab, the result "
            f"with and without it. Model: {published.CITATION}, doi:{published.DOI}."),
        "prefetch": dict(PREFETCH),
        "usageRequirements": (
            f"Needs the latest final {', '.join(label(k) for k in REQUIRED_KEYS)} "
            "Observations (LOINC-coded, UCUM units) through prefetch or fhirServer with "
            "fhirAuthorization (scope user/Observation.read or patient/Observation.read); "
            "bilirubin and INR add Child-Pugh. Every call must carry the EHR's signed JWT. "
            f"The model was {published.APPLICABILITY}."),
    }]}
