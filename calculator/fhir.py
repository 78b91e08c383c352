"""From the patient's record: FHIR R4 Observations to the calculator's inputs.

A hospital's record system hands over lab results as FHIR ``Observation`` resources, in a
``Bundle`` (a search result, a CDS Hooks prefetch) or a plain list. This module decides,
for each input of :func:`calculator.score`, which Observation gives it, in which unit, and
how old it is; it reads no clock, files or network (the caller passes the calculation
time and the parsed JSON).

**Which Observations.** Matched by their LOINC code (:data:`LAB_CODES`; the codes and
names are LOINC's, https://loinc.org/<code>); codes of the same analyte that the
calculator cannot use (a molar albumin, a lymphocyte *percentage*) are named in the
message when nothing usable is found (:data:`NOT_USABLE_CODES`). Resources are parsed and
validated by the ``fhir.resources`` package (its R4B models, whose Observation and Bundle
are those of R4), never by hand.

**Which result.** Per input, the latest result whose status is ``final``, ``amended`` or
``corrected`` (FHIR R4 ObservationStatus); ``registered``, ``preliminary``,
``cancelled``, ``entered-in-error`` and ``unknown`` ones are not used, and one newer than
the result used is named in a warning. "Latest" is by the effective time
(``effectiveDateTime``, ``effectiveInstant`` or the start of ``effectivePeriod``); a date
without a time counts as the start of that day; a result dated only to the month or year,
or not at all, cannot be ordered or checked for age and is not used. At the same time an
amended or corrected result wins over a final one, then the later ``issued``; two
different results left tied are refused.

**Units** are read from the Quantity's UCUM code (system ``http://unitsofmeasure.org``),
never from its free-text ``unit`` (:data:`UCUM_UNITS`), and mapped onto the calculator's
units; the value goes through the same number rules as every other entry point
(:mod:`calculator.number_entry`, via :func:`calculator.units.measure`). A value reported
with a comparator ("< 2 ng/mL") is refused, not guessed.

**How old.** Each input carries its own date, so the rules of
:mod:`calculator.lab_dates` apply per lab: older than 30 days, in the future, or albumin
and lymphocytes more than 7 days apart give a warning.

**Missing.** Albumin, lymphocytes and AFP are required: a missing one is named with what
was found instead, and nothing is computed. Bilirubin and INR are optional (Child-Pugh);
one that cannot be read is left out with a warning. Extrahepatic spread is not a lab: the
caller supplies it (:data:`CLINICAL_INPUTS`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any, Final, NoReturn

from calculator.errors import InputError, shown
from calculator.labels import label
from calculator.profile import REQUIRED, RiskProfile, score

LOINC_SYSTEM: Final = "http://loinc.org"
UCUM_SYSTEM: Final = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class LabCode:
    """A LOINC code the calculator reads, the input it gives and its LOINC long name."""

    code: str
    field: str
    name: str


#: The LOINC codes read, by input. Names are LOINC's long common names (each code's page is
#: https://loinc.org/<code>); the sets were checked against VSAC value sets "Bilirubin lab
#: test" (2.16.840.1.113762.1.4.1248.223) and "INR" (2.16.840.1.113883.3.117.1.7.1.213),
#: the HL7 mCODE tumour-marker value set (AFP), the GECCO FHIR code lists (albumin,
#: lymphocytes) and laboratory test directories; tests/test_fhir.py checks every code's
#: LOINC check digit.
LAB_CODES: Final[tuple[LabCode, ...]] = (
    LabCode("1751-7", "albumin", "Albumin [Mass/volume] in Serum or Plasma"),
    LabCode("61151-7", "albumin", "Albumin [Mass/volume] in Serum or Plasma by Bromocresol "
                                  "green (BCG) dye binding method"),
    LabCode("61152-5", "albumin", "Albumin [Mass/volume] in Serum or Plasma by Bromocresol "
                                  "purple (BCP) dye binding method"),
    LabCode("731-0", "lymphocytes", "Lymphocytes [#/volume] in Blood by Automated count"),
    LabCode("732-8", "lymphocytes", "Lymphocytes [#/volume] in Blood by Manual count"),
    LabCode("26474-7", "lymphocytes", "Lymphocytes [#/volume] in Blood"),
    LabCode("1834-1", "afp", "Alpha-1-Fetoprotein [Mass/volume] in Serum or Plasma"),
    LabCode("83073-7", "afp", "Alpha-1-Fetoprotein [Mass/volume] in Serum or Plasma by "
                              "Immunoassay"),
    LabCode("53962-7", "afp", "Alpha-1-fetoprotein.tumor marker [Mass/volume] in Serum or "
                              "Plasma"),
    LabCode("19176-7", "afp", "Alpha-1-Fetoprotein [Units/volume] in Serum or Plasma"),
    LabCode("83072-9", "afp", "Alpha-1-Fetoprotein [Units/volume] in Serum or Plasma by "
                              "Immunoassay"),
    LabCode("53961-9", "afp", "Alpha-1-fetoprotein.tumor marker [Units/volume] in Serum or "
                              "Plasma"),
    LabCode("1975-2", "bilirubin", "Bilirubin.total [Mass/volume] in Serum or Plasma"),
    LabCode("14631-6", "bilirubin", "Bilirubin.total [Moles/volume] in Serum or Plasma"),
    LabCode("42719-5", "bilirubin", "Bilirubin.total [Mass/volume] in Blood"),
    LabCode("54363-7", "bilirubin", "Bilirubin.total [Moles/volume] in Blood"),
    LabCode("6301-6", "inr", "INR in Platelet poor plasma by Coagulation assay"),
    LabCode("34714-6", "inr", "INR in Blood by Coagulation assay"),
    LabCode("38875-1", "inr", "INR in Platelet poor plasma or blood by Coagulation assay"),
    LabCode("46418-0", "inr", "INR in Capillary blood by Coagulation assay"),
)
CODES: Final[Mapping[str, LabCode]] = {c.code: c for c in LAB_CODES}
#: The inputs read from Observations, in the order the result lists them.
LAB_FIELDS: Final = ("albumin", "lymphocytes", "afp", "bilirubin", "inr")

#: Codes of these analytes that cannot give the input, and why (named when nothing
#: usable is found, so "only a lymphocyte percentage was sent" is said, not guessed).
NOT_USABLE_CODES: Final[Mapping[str, tuple[str, str]]] = {
    "54347-0": ("albumin", "Albumin [Moles/volume] in Serum or Plasma, a molar "
                           "concentration; the PNI needs albumin in g/L or g/dL"),
    "2862-1": ("albumin", "Albumin [Mass/volume] in Serum or Plasma by Electrophoresis, a "
                          "protein fraction rather than the routine dye-binding result"),
    "736-9": ("lymphocytes", "Lymphocytes/100 leukocytes in Blood by Automated count, a "
                             "percentage; the PNI needs the absolute count"),
    "737-7": ("lymphocytes", "Lymphocytes/100 leukocytes in Blood by Manual count, a "
                             "percentage; the PNI needs the absolute count"),
    "26478-8": ("lymphocytes", "Lymphocytes/100 leukocytes in Blood, a percentage; the PNI "
                               "needs the absolute count"),
    "19177-5": ("afp", "Alpha-1-Fetoprotein [Moles/volume] in Serum or Plasma, a molar "
                       "concentration; the cut-off is in ng/mL"),
    "1968-7": ("bilirubin", "Bilirubin.direct [Mass/volume] in Serum or Plasma, direct "
                            "rather than total bilirubin"),
}

#: UCUM code -> the calculator's unit, per input (https://ucum.org; ``k[IU]/L`` equals
#: ``[IU]/mL``; ``{INR}`` and ``{ratio}`` are annotations of the unit 1).
UCUM_UNITS: Final[Mapping[str, Mapping[str, str]]] = {
    "albumin": {"g/dL": "g/dL", "g/L": "g/L"},
    "lymphocytes": {"10*9/L": "10^9/L", "10*3/uL": "10^3/uL", "/uL": "cells/uL",
                    "{cells}/uL": "cells/uL", "/mm3": "cells/uL"},
    "afp": {"ng/mL": "ng/mL", "ug/L": "ug/L", "[IU]/mL": "IU/mL", "k[IU]/L": "IU/mL"},
    "bilirubin": {"mg/dL": "mg/dL", "umol/L": "umol/L"},
    "inr": {"{INR}": "", "1": "", "{ratio}": ""},
}

#: Observation statuses whose result is used; the others of FHIR R4 are not.
USABLE_STATUSES: Final = ("final", "amended", "corrected")
UNUSED_STATUSES: Final = ("registered", "preliminary", "cancelled", "entered-in-error",
                          "unknown")
#: Inputs that are not labs, given by the caller next to the Observations.
CLINICAL_INPUTS: Final = ("extrahepatic_spread", "ascites", "encephalopathy")
#: Most resources read from one Bundle or list (a lab search of years is far smaller).
MAX_RESOURCES: Final = 1000
#: What the input must be, as error messages say it.
EXPECTED: Final = "a FHIR R4 Bundle (or a JSON list) of Observation resources"


@dataclass(frozen=True)
class Source:
    """The Observation an input was read from, as the result echoes it."""

    observation_id: str | None
    code: str
    status: str
    effective: str
    ucum_unit: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"resource_type": "Observation", "id": self.observation_id,
                "system": LOINC_SYSTEM, "code": self.code, "display": CODES[self.code].name,
                "status": self.status, "effective": self.effective,
                "unit_system": UCUM_SYSTEM if self.ucum_unit is not None else None,
                "unit": self.ucum_unit}

    @property
    def described(self) -> str:
        """``Observation alb-1 (LOINC 1751-7, 2025-03-01T08:00:00+01:00)``."""
        name = f"Observation {self.observation_id}" if self.observation_id \
            else "an Observation without id"
        return f"{name} (LOINC {self.code}, {self.effective})"


@dataclass(frozen=True)
class Labs:
    """The lab inputs read from Observations, ready for :func:`calculator.score`."""

    values: Mapping[str, object]
    dates: Mapping[str, date]
    sources: Mapping[str, Source]
    warnings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FhirScore:
    """A risk profile scored from Observations, with the Observation behind each input."""

    profile: RiskProfile
    sources: Mapping[str, Source]

    def to_dict(self) -> dict[str, Any]:
        """The result JSON; each lab in ``inputs[]`` carries its ``source`` Observation."""
        data = self.profile.to_dict()
        for entry in data["inputs"]:
            source = self.sources.get(entry["field"])
            if source is not None:
                entry["source"] = source.to_dict()
        return data


@dataclass(frozen=True)
class _Candidate:
    """One Observation of one input, with when it was taken (if known)."""

    field: str
    observation: Any
    source: Source
    taken: datetime | None
    day: date | None
    issued: datetime | None
    rank: int
    problem: str | None  # why it cannot be used; None if it can


#: The hint of a problem with the FHIR data as a whole.
FHIR_HINT: Final = ("check the data against FHIR R4: a Bundle whose entries hold Observation "
                    "resources (https://hl7.org/fhir/R4/observation.html)")


def _bundle_error(message: str, hint: str | None = None) -> InputError:
    """A problem with the FHIR data itself; the message never quotes a value from it."""
    return InputError("bundle", None, None, EXPECTED, message if hint is None
                      else f"{message} ({hint})", hint or FHIR_HINT)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _integer(text: str) -> int | Decimal:
    # An integer past Python's int-from-text limit stays a Decimal, so that the number
    # rules refuse it for its field instead of the whole text failing as "not JSON".
    return int(text) if len(text) <= 1000 else Decimal(text)


def parse_json(text: str | bytes) -> object:
    """FHIR JSON text as Python data, decimals kept exactly as written (FHIR decimals carry
    their precision): ``3.50`` is ``Decimal('3.50')``, never a binary float.

    >>> parse_json('{"value": 3.50, "n": 2}')
    {'value': Decimal('3.50'), 'n': 2}
    """
    try:
        return json.loads(text, parse_float=Decimal, parse_int=_integer,
                          parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        where = (f" (line {error.lineno}, column {error.colno})"
                 if isinstance(error, json.JSONDecodeError) else "")
        raise _bundle_error(f"the FHIR data is not valid JSON{where}",
                            f"send {EXPECTED} as JSON") from None


def _resource_list(data: object) -> list[tuple[int, object]]:
    """The resources of a Bundle, a list or a single Observation, with their positions."""
    if isinstance(data, Mapping) and data.get("resourceType") == "Bundle":
        entries = data.get("entry", [])
        if not isinstance(entries, list):
            raise _bundle_error("the Bundle's entry must be a list of entries")
        resources: list[tuple[int, object]] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise _bundle_error(f"entry {i} of the Bundle is not an object")
            resources.append((i, entry.get("resource")))
        return resources
    if isinstance(data, Mapping) and data.get("resourceType") == "Observation":
        return [(0, data)]
    if isinstance(data, list):
        return list(enumerate(data))
    what = (f"a {data.get('resourceType')!r} resource"
            if isinstance(data, Mapping) and isinstance(data.get("resourceType"), str)
            else "an object without resourceType" if isinstance(data, Mapping)
            else type(data).__name__)
    raise _bundle_error(f"expected {EXPECTED}; got {what}",
                        'send {"resourceType": "Bundle", "type": "collection", '
                        '"entry": [{"resource": {"resourceType": "Observation", ...}}]}')


def _validation_message(error: Exception) -> str:
    """The first problems of a ``fhir.resources`` (pydantic) validation error, by place;
    never the offending value (it may be a patient's)."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        try:
            found = errors(include_input=False, include_url=False)
        except TypeError:  # pragma: no cover - older pydantic signature
            found = errors()
        parts = []
        for item in found[:3]:
            place = ".".join(str(p) for p in item.get("loc", ()) if p != "__root__")
            parts.append(f"{place or 'resource'}: {item.get('msg', 'invalid')}")
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        return "; ".join(parts) + more
    return f"{type(error).__name__}"


def observations(data: object) -> tuple[list[Any], int]:
    """The Observations of ``data`` as validated ``fhir.resources`` models, and the number
    of other resources (Patient, OperationOutcome, ...), which are not read.

    ``data`` is parsed JSON: a Bundle, a list of resources or one Observation. A resource
    that is not a valid R4 Observation is an error naming its place.
    """
    # Deferred: fhir.resources (pydantic models of every FHIR resource) takes about 0.1 s
    # to load; the scoring core loads instantly without it.
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.observation import Observation
    from pydantic import ValidationError

    resources = _resource_list(data)
    if len(resources) > MAX_RESOURCES:
        raise _bundle_error(f"the data holds {len(resources)} resources, more than the "
                            f"{MAX_RESOURCES} read at once",
                            "send the latest results of the five labs only")
    if isinstance(data, Mapping) and data.get("resourceType") == "Bundle":
        envelope = {**data, "entry": [{k: v for k, v in entry.items() if k != "resource"}
                                      for entry in data.get("entry", [])]}
        try:
            Bundle.model_validate(envelope)
        except (ValidationError, ValueError, TypeError, KeyError, RecursionError) as error:
            raise _bundle_error(f"the Bundle is not a valid FHIR R4 Bundle: "
                                f"{_validation_message(error)}") from None
    found: list[Any] = []
    others = 0
    for place, resource in resources:
        if not isinstance(resource, Mapping):
            raise _bundle_error(f"resource {place} is not an object (a FHIR resource is a "
                                "JSON object with a resourceType)")
        kind = resource.get("resourceType")
        if not isinstance(kind, str):
            raise _bundle_error(f"resource {place} has no resourceType")
        if kind != "Observation":
            others += 1
            continue
        try:
            found.append(Observation.model_validate(resource))
        except (ValidationError, ValueError, TypeError, KeyError, RecursionError) as error:
            name = resource.get("id")
            which = f" (id {shown(name)})" if isinstance(name, str) else ""
            raise _bundle_error(f"resource {place}{which} is not a valid FHIR R4 "
                                f"Observation: {_validation_message(error)}") from None
    return found, others


def _loinc_codes(observation: Any) -> list[str]:
    codings = (observation.code.coding or []) if observation.code is not None else []
    return [c.code for c in codings if c.system == LOINC_SYSTEM and isinstance(c.code, str)]


def _patient_of(observation: Any) -> str | None:
    """``Patient/<id>`` of the Observation's subject, when it names one."""
    subject = observation.subject
    reference = getattr(subject, "reference", None) if subject is not None else None
    if not isinstance(reference, str):
        return None
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def _when(observation: Any, zone: tzinfo | None) -> tuple[datetime | None, date | None,
                                                          str | None, str | None]:
    """(instant for ordering, day taken, effective time as text, why unusable)."""
    value: object = None
    for name in ("effectiveDateTime", "effectiveInstant"):
        value = getattr(observation, name, None)
        if value is not None:
            break
    if value is None and observation.effectivePeriod is not None:
        value = observation.effectivePeriod.start or observation.effectivePeriod.end
    if value is None:
        problem = ("its effective time is given as a timing, not a date"
                   if getattr(observation, "effectiveTiming", None) is not None
                   else "it has no effective date")
        return None, None, None, problem
    if isinstance(value, datetime):
        moment = value.astimezone(zone)
        return moment, moment.date(), value.isoformat(), None
    if isinstance(value, date):
        return datetime.combine(value, time.min, zone), value, value.isoformat(), None
    return None, None, str(value), (f"its effective date {shown(str(value))} is not given "
                                    "to the day")


def _candidate(field: str, code: str, observation: Any, zone: tzinfo | None) -> _Candidate:
    taken, day, effective, problem = _when(observation, zone)
    status = str(observation.status)
    quantity = observation.valueQuantity
    ucum = quantity.code if quantity is not None and isinstance(quantity.code, str) else None
    if problem is None and status not in USABLE_STATUSES:
        problem = (f"its status is {status}" if status in UNUSED_STATUSES else
                   f"its status {shown(status)} is not a FHIR Observation status")
    if problem is None and (quantity is None or quantity.value is None):
        absent = observation.dataAbsentReason
        why = (getattr(absent, "text", None) or ", ".join(
            str(c.code) for c in (absent.coding or []))) if absent is not None else None
        problem = (f"it has no value ({why})" if why else
                   "it has no numeric value (valueQuantity)")
    issued = observation.issued if isinstance(observation.issued, datetime) else None
    source = Source(observation.id, code, status, effective or "no date", ucum)
    rank = 1 if status in ("amended", "corrected") else 0
    return _Candidate(field, observation, source, taken, day, issued, rank, problem)


def _sort_key(c: _Candidate) -> tuple[datetime, int, datetime]:
    assert c.taken is not None
    return c.taken, c.rank, c.issued or c.taken


def _same_result(a: _Candidate, b: _Candidate) -> bool:
    qa, qb = a.observation.valueQuantity, b.observation.valueQuantity
    return bool(qa.value == qb.value and qa.code == qb.code)


def _latest(field: str, usable: list[_Candidate]) -> _Candidate:
    """The latest usable result; two different results equally late are refused."""
    ordered = sorted(usable, key=_sort_key)
    chosen = ordered[-1]
    tied = [c for c in ordered[:-1] if _sort_key(c) == _sort_key(chosen)
            and not _same_result(c, chosen)]
    if tied:
        raise InputError(field, None, None, "one latest result",
                         f"{label(field)}: {chosen.source.described} and "
                         f"{tied[-1].source.described} are equally recent and differ; "
                         "the calculator does not choose between them",
                         "mark one of them entered-in-error, or enter the value by hand")
    return chosen


def _unit(field: str, chosen: _Candidate) -> str:
    """The calculator's unit for the chosen result's UCUM code, or an error."""
    quantity = chosen.observation.valueQuantity
    accepted = UCUM_UNITS[field]
    choices = ", ".join(u for u in accepted)
    where = chosen.source.described
    if quantity.comparator is not None:
        raise InputError(field, None, None, "an exact value",
                         f"{label(field)} from {where} is reported as "
                         f"'{quantity.comparator} {quantity.value}', not as an exact value; "
                         "the calculator does not guess one",
                         "enter the value by hand if the laboratory can give it")
    if quantity.code is None and quantity.unit is None and field == "inr":
        return ""
    if quantity.system != UCUM_SYSTEM or quantity.code is None:
        text = f" (its unit text is {shown(quantity.unit)})" if quantity.unit else ""
        raise InputError(f"{field}_unit", quantity.unit, None, choices,
                         f"{label(field)} from {where} has no UCUM unit code{text}; the "
                         f"unit is read from the UCUM code only (system {UCUM_SYSTEM}), "
                         "never guessed from text",
                         f"send the unit as a UCUM code: {choices}")
    if quantity.code not in accepted:
        raise InputError(f"{field}_unit", quantity.code, None, choices,
                         f"{label(field)} from {where} is in {shown(quantity.code)}, a unit "
                         f"the calculator does not read; accepted UCUM codes: {choices}",
                         "ask the laboratory for the result in one of these units")
    return accepted[quantity.code]


def read_labs(data: object, now: datetime, patient_id: str | None = None) -> Labs:
    """The calculator's lab inputs from FHIR Observations (see the module's rules).

    Parameters
    ----------
    data
        Parsed JSON: a Bundle, a list of resources or one Observation.
    now
        The time of the calculation (dates the "latest" and lab-age rules).
    patient_id
        The patient the Observations must be about (CDS Hooks ``context.patientId``);
        without it they must all be about one patient.

    Raises
    ------
    InputError
        Naming every required lab without a usable result and every result that
        cannot be read.
    """
    found, others = observations(data)
    return labs_from(found, now, patient_id, others)


def labs_from(found: Sequence[Any], now: datetime, patient_id: str | None = None,
              others: int = 0) -> Labs:
    """:func:`read_labs` for Observations already validated by :func:`observations`
    (``others``: how many other resources came with them)."""
    zone = now.astimezone().tzinfo
    candidates: dict[str, list[_Candidate]] = {f: [] for f in LAB_FIELDS}
    refused: dict[str, list[str]] = {f: [] for f in LAB_FIELDS}
    unknown_codes: list[str] = []
    patients: set[str] = set()
    problems: list[InputError] = []
    for observation in found:
        codes = _loinc_codes(observation)
        ours = {CODES[c].field: c for c in codes if c in CODES}
        if patient_of := _patient_of(observation):
            patients.add(patient_of)
        if len(ours) > 1:
            problems.append(_bundle_error(
                f"Observation {shown(observation.id)} carries LOINC codes of different labs "
                f"({', '.join(sorted(ours.values()))}); it cannot be read as one of them"))
            continue
        if ours:
            (field, code), = ours.items()
            candidates[field].append(_candidate(field, code, observation, zone))
            continue
        for code in codes:
            if code in NOT_USABLE_CODES:
                field, why = NOT_USABLE_CODES[code]
                refused[field].append(f"LOINC {code} ({why})")
            else:
                unknown_codes.append(code)
    wanted = f"Patient/{patient_id}" if patient_id is not None else None
    strangers = sorted(p for p in patients if wanted is not None and p != wanted)
    if strangers or (wanted is None and len(patients) > 1):
        raise _bundle_error(
            f"the Observations are about {', '.join(sorted(patients))}"
            + (f", not {wanted}" if wanted else ", more than one patient")
            + "; results of another patient are never used",
            "send the Observations of one patient only")

    values: dict[str, object] = {}
    dates: dict[str, date] = {}
    sources: dict[str, Source] = {}
    warnings: list[tuple[str, str]] = []
    for field in LAB_FIELDS:
        usable = [c for c in candidates[field] if c.problem is None]
        if not usable:
            if field in REQUIRED:
                problems.append(_missing(field, candidates[field], refused[field]))
            elif candidates[field]:
                warnings.append((field, f"{label(field)} was not used: "
                                        f"{_not_used(candidates[field])}"))
            continue
        try:
            chosen = _latest(field, usable)
            unit = _unit(field, chosen)
        except InputError as error:
            if field in REQUIRED:
                problems.append(error)
            else:
                warnings.append((field, f"{error.message}; it is left out (Child-Pugh is "
                                        "not part of the relative hazard)"))
            continue
        values[field] = chosen.observation.valueQuantity.value
        values[f"{field}_unit"] = unit
        assert chosen.day is not None
        dates[field] = chosen.day
        sources[field] = chosen.source
        warnings.extend(_newer_unused(field, chosen, candidates[field]))
    if problems:
        if unknown_codes and any(p.field in REQUIRED for p in problems):
            seen = sorted(set(unknown_codes))
            note = (f"; LOINC codes found that the calculator does not read: "
                    f"{', '.join(seen[:8])}{' ...' if len(seen) > 8 else ''}")
            first = next(i for i, p in enumerate(problems) if p.field in REQUIRED)
            problems[first] = _with_message(problems[first], problems[first].message + note)
        if others and not found:
            problems.append(_bundle_error(f"the data holds {others} resources and no "
                                          "Observation"))
        raise InputError.collect(problems)
    return Labs(values, dates, sources, tuple(warnings))


def _not_used(candidates: Sequence[_Candidate]) -> str:
    shown_ = [f"{c.source.described}: {c.problem}" for c in candidates[:3]]
    more = f"; and {len(candidates) - 3} more" if len(candidates) > 3 else ""
    return "; ".join(shown_) + more


def _missing(field: str, candidates: Sequence[_Candidate], refused: Sequence[str]) -> InputError:
    codes = ", ".join(c.code for c in LAB_CODES if c.field == field)
    if candidates:
        found = f"found {_not_used(candidates)}"
    elif refused:
        found = f"found only {'; '.join(refused[:3])}"
    else:
        found = "no Observation carries one of these codes"
    return InputError(field, None, None, f"a final Observation with LOINC {codes}",
                      f"{label(field)} has no usable result (LOINC {codes}): {found}. "
                      "The result is never computed from a guess",
                      "send a final, amended or corrected result with one of these codes, "
                      "or enter the values by hand")


def _newer_unused(field: str, chosen: _Candidate,
                  candidates: Sequence[_Candidate]) -> list[tuple[str, str]]:
    """A warning naming the newest result newer than the one used, if any."""
    assert chosen.taken is not None
    newer = [c for c in candidates if c.problem is not None and c.taken is not None
             and c.taken > chosen.taken]
    if not newer:
        return []
    latest = max(newer, key=_sort_key)
    return [(field, f"A newer {label(field)} result, {latest.source.described}, was not "
                    f"used because {latest.problem}; the result uses "
                    f"{chosen.source.described}")]


def _with_message(error: InputError, message: str, hint: str | None = None) -> InputError:
    return InputError(error.field, error.value, error.unit, error.allowed, message,
                      hint if hint is not None else error.hint)


def score_labs(labs: Labs, clinical: Mapping[str, object], now: datetime) -> FhirScore:
    """Score the labs read by :func:`read_labs` with the inputs that are not labs.

    ``clinical`` holds :data:`CLINICAL_INPUTS` (``extrahepatic_spread`` is required;
    ``ascites`` and ``encephalopathy`` complete Child-Pugh). A problem with a value read
    from an Observation names that Observation.
    """
    unknown = sorted(str(k) for k in clinical if k not in CLINICAL_INPUTS)
    if unknown:
        raise InputError.collect(
            InputError(key, None, None, ", ".join(CLINICAL_INPUTS),
                       f"{shown(key)} is not read next to FHIR data; the labs come from the "
                       f"Observations and only {', '.join(CLINICAL_INPUTS)} are given "
                       "separately") for key in unknown)
    try:
        profile = score({**labs.values, **clinical}, now, dates=labs.dates)
    except InputError as error:
        raise InputError.collect(_traced(p, labs.sources) for p in error.errors) from None
    profile = replace(profile, warnings=profile.warnings + labs.warnings)
    return FhirScore(profile, labs.sources)


def _traced(problem: InputError, sources: Mapping[str, Source]) -> InputError:
    """A problem with an input read from an Observation, naming the Observation."""
    field = problem.field.removesuffix("_unit")
    if problem.field == "extrahepatic_spread":
        return _with_message(problem, problem.message + "; it is not a lab, so give it next "
                             "to the FHIR data (the field extrahepatic_spread: true or false)",
                             "extrahepatic spread is given separately: yes or no")
    if field not in sources:
        return problem
    return _with_message(problem, f"{problem.message} (from {sources[field].described})")


def score_fhir(data: object, clinical: Mapping[str, object], now: datetime,
               patient_id: str | None = None) -> FhirScore:
    """Score a patient from FHIR Observations and the inputs that are not labs.

    >>> from datetime import timezone
    >>> obs = lambda i, code, value, unit: {
    ...     "resourceType": "Observation", "id": i, "status": "final",
    ...     "code": {"coding": [{"system": LOINC_SYSTEM, "code": code}]},
    ...     "effectiveDateTime": "2025-03-01",
    ...     "valueQuantity": {"value": value, "system": UCUM_SYSTEM, "code": unit}}
    >>> bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
    ...     {"resource": obs("alb", "1751-7", 3.5, "g/dL")},
    ...     {"resource": obs("lym", "731-0", 1.1, "10*3/uL")},
    ...     {"resource": obs("afp", "1834-1", 250, "ng/mL")}]}
    >>> result = score_fhir(bundle, {"extrahepatic_spread": False},
    ...                     datetime(2025, 3, 5, tzinfo=timezone.utc)).to_dict()
    >>> result["pni"]["value"], result["inputs"][0]["source"]["id"]
    (40.5, 'alb')
    """
    return score_labs(read_labs(data, now, patient_id), clinical, now)

