"""A patient's risk profile: the study's factors, their hazard ratios and the evidence.

:func:`score` takes the inputs as a form, the API or the command line deliver them
(names of interfaces.md, values as entered, optional ``<name>_unit`` keys) and returns a
:class:`RiskProfile` whose :meth:`~RiskProfile.to_dict` is the result JSON. Every number
it shows comes from :mod:`calculator.published`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Final

from calculator import __version__, evidence, published
from calculator.child_pugh import ASCITES, CLASSES, ENCEPHALOPATHY, ChildPugh, assess
from calculator.errors import InputError, shown
from calculator.formatting import interval
from calculator.lab_dates import lab_date_warnings, parse_lab_date
from calculator.labels import label
from calculator.pni import pni_is_high, prognostic_nutritional_index
from calculator.units import QUANTITIES, Measurement, measure

CHILD_PUGH_ITEMS: Final = ("bilirubin", "inr", "ascites", "encephalopathy")
REQUIRED: Final = ("albumin", "lymphocytes", "afp", "extrahepatic_spread")
FIELDS: Final = (*REQUIRED, *CHILD_PUGH_ITEMS, "child_pugh_class", "lab_date")
ACCEPTED_KEYS: Final = frozenset(FIELDS) | {f"{q}_unit" for q in QUANTITIES}

COMBINED_CAVEAT: Final = (
    "Product of the multivariable hazard ratios of the adverse factors present. The 95% CI "
    "adds the variances of the log hazard ratios recovered from the published CIs as if "
    "they were independent: the paper gives no covariance, so the true interval may be "
    "narrower or wider. A relative hazard, not an absolute survival probability.")
REFERENCE: Final = "patient with none of the three independent adverse factors"
#: What a PNI near the cut-off means.
NEAR_CUTOFF_NOTE: Final = (
    "near the cut-off: in studies like this one the ROC/Youden cut-off falls anywhere in "
    "this range (95% of simulated studies), so whether this PNI is high or low is "
    "uncertain")
#: What the relative hazard is, in the words a reader needs to not misread it.
MEANING: Final = "a ratio of death rates, not a probability of death"

STUDY_CHILD_PUGH_SCORES: Final[tuple[int, ...]] = tuple(published.TABLE1["child_pugh_score"])
_YES: Final = frozenset({"yes", "y", "true", "1", "present"})
_NO: Final = frozenset({"no", "n", "false", "0", "absent"})


@dataclass(frozen=True)
class Factor:
    """One Table 4 factor as it applies to this patient (HR always 'as adverse')."""

    name: str
    adverse: bool
    hr: float
    ci: tuple[float, float]
    p: float | None
    rule: str
    source: str
    independent: bool
    #: The HR re-estimated by simulation (independent factors only).
    reestimate: evidence.Reestimate | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "adverse": self.adverse, "hr": _sig(self.hr),
                "ci": [_sig(self.ci[0]), _sig(self.ci[1])], "p": self.p,
                "rule": self.rule, "source": self.source, "independent": self.independent,
                "reestimate": self.reestimate.to_dict() if self.reestimate else None}


@dataclass(frozen=True)
class RelativeHazard:
    """The combined relative hazard of the adverse independent factors present."""

    value: float
    ci: tuple[float, float]
    factors: tuple[str, ...]
    #: The same, from the re-estimated HRs (None for the reference group).
    reestimate: evidence.CombinedReestimate | None = None

    @property
    def is_reference(self) -> bool:
        """True for a patient with none of the factors: the model's reference group."""
        return not self.factors

    @property
    def summary(self) -> str:
        """The result in one sentence that names the endpoint, the comparator and what
        the number is (and is not).

        >>> print(RelativeHazard(20.02, (5.0, 80.2), ("afp", "pni")).summary)
        Relative hazard 20.0 (95% CI 5.00–80.2) for overall survival on second-line therapy \
after atezolizumab + bevacizumab, against a patient with none of the three independent \
adverse factors. It is a ratio of death rates, not a probability of death.
        """
        if self.is_reference:
            return (f"No adverse factor: this patient is in the reference group for "
                    f"{published.ENDPOINT} (the {REFERENCE}); the paper gives no survival "
                    "probability for it.")
        return (f"Relative hazard {self.value:#.3g} (95% CI "
                f"{interval(self.ci[0], self.ci[1], '#.3g')}) for {published.ENDPOINT}, "
                f"against a {REFERENCE}. It is {MEANING}.")

    def to_dict(self) -> dict[str, Any]:
        return {"value": _sig(self.value), "ci": [_sig(self.ci[0]), _sig(self.ci[1])],
                "factors": list(self.factors),
                "reference": REFERENCE,
                "reference_group": self.is_reference,
                "endpoint": published.ENDPOINT,
                "meaning": MEANING,
                "summary": self.summary,
                "caveat": COMBINED_CAVEAT,
                "reestimate": self.reestimate.to_dict() if self.reestimate else None}


@dataclass(frozen=True)
class RiskProfile:
    """Everything the calculator reports for one patient.

    ``calculated_at`` is the time of the calculation as the caller gave it (the core
    reads no clock); ``lab_date`` the date given for the labs, if any.
    """

    pni: Decimal
    pni_high: bool
    factors: tuple[Factor, ...]
    relative_hazard: RelativeHazard
    child_pugh: ChildPugh | None
    inputs: tuple[Measurement | Choice, ...]
    warnings: tuple[tuple[str, str], ...] = field(default=())
    calculated_at: datetime | None = None
    lab_date: date | None = None

    @property
    def adverse_count(self) -> int:
        return sum(f.adverse for f in self.factors if f.independent)

    @property
    def pni_display(self) -> str:
        """PNI to one decimal, rounded down so the shown value never crosses 47.6."""
        return str(self.pni.quantize(Decimal("0.1"), rounding=ROUND_FLOOR))

    @property
    def pni_near_cutoff(self) -> bool:
        """The PNI lies within the 95% range of the data-driven cut-off: its category
        (high or low) is uncertain."""
        return evidence.near_cutoff(self.pni)

    def to_dict(self) -> dict[str, Any]:
        """The result JSON of interfaces.md."""
        cutoff = published.PNI_CUTOFF.value
        shipped = evidence.load()
        return {
            "pni": {"value": float(self.pni), "display": self.pni_display,
                    "cutoff": float(cutoff),
                    "category": "high" if self.pni_high else "low",
                    "label": label("pni"),
                    "rule": f"high if PNI ≥ {cutoff} (exact, before rounding); PNI = "
                            "albumin (g/L) + 5 × lymphocytes (×10⁹/L)",
                    "source": published.PNI_CUTOFF.source,
                    "near_cutoff": self.pni_near_cutoff,
                    "cutoff_range": {"low": shipped.cutoff.low, "high": shipped.cutoff.high,
                                     "note": NEAR_CUTOFF_NOTE}},
            "factors": [f.to_dict() for f in self.factors],
            "adverse_count": self.adverse_count,
            "relative_hazard": self.relative_hazard.to_dict(),
            "child_pugh": self.child_pugh.to_dict() if self.child_pugh else None,
            "published_medians": _published_medians(self),
            "published_medians_note": published.PNI_MEDIANS_WITHHELD,
            "warnings": [{"field": f, "message": m} for f, m in self.warnings],
            "inputs": [i.to_dict() if isinstance(i, Choice) else _measurement_dict(i)
                       for i in self.inputs],
            "calculated_at": (self.calculated_at.isoformat(timespec="seconds")
                              if self.calculated_at else None),
            "lab_date": self.lab_date.isoformat() if self.lab_date else None,
            "applicability": published.APPLICABILITY,
            "limits": list(published.LIMITS),
            "limit": published.ONE_LINE_LIMIT,
            "evidence": _evidence_dict(shipped),
            "model": {"source": published.CITATION, "doi": published.DOI,
                      "published_model_version": published.MODEL_VERSION,
                      "version": __version__},
        }


@dataclass(frozen=True)
class Choice:
    """A categorical input (yes/no, Child-Pugh items) as entered and as used."""

    field: str
    entered: object
    value: str | bool

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "entered": _jsonable(self.entered), "unit": None,
                "value": self.value, "canonical_unit": None, "quality": "ok", "date": None}


def _sig(x: float, digits: int = 3) -> float:
    """Round to significant digits for display (4.1667 -> 4.17, 11.111 -> 11.1)."""
    if x == 0:
        return 0.0
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def _jsonable(raw: object) -> object:
    if isinstance(raw, float) and not math.isfinite(raw):
        return repr(raw)
    if isinstance(raw, Decimal):
        return float(raw)
    if raw is None or isinstance(raw, (str, int, float, bool)):
        return raw
    return repr(raw)


def _measurement_dict(m: Measurement) -> dict[str, Any]:
    return {"field": m.field, "entered": _jsonable(m.entered), "unit": m.unit or None,
            "value": float(m.value), "canonical_unit": m.canonical_unit or None,
            "quality": m.quality, "date": m.date.isoformat() if m.date else None}


def _evidence_dict(shipped: evidence.Evidence) -> dict[str, Any]:
    """What the simulation says about the published numbers, for every result."""
    ff = shipped.false_findings
    return {"label": shipped.label, "assumptions": shipped.assumptions,
            "combination": shipped.combination,
            "false_findings": {"share": ff.share, "mcse": ff.mcse, "line": ff.line},
            "cutoff_range": {"low": shipped.cutoff.low, "high": shipped.cutoff.high,
                             "low_mcse": shipped.cutoff.low_mcse,
                             "high_mcse": shipped.cutoff.high_mcse},
            "page": evidence.PAGE, "source": shipped.source}


def _published_medians(profile: RiskProfile) -> list[dict[str, Any]]:
    """The published KM medians that apply to this patient: whole cohort and AFP group."""
    afp_adverse = next(f.adverse for f in profile.factors if f.name == "afp")
    groups = {"all", "afp_high" if afp_adverse else "afp_low"}
    return [{"group": m.group, "endpoint": m.endpoint, "n": m.n,
             "n_note": None if m.n is not None else published.N_NOT_REPORTED,
             "median_months": m.median_months, "ci": list(m.ci),
             "logrank_p": m.logrank_p, "source": m.source}
            for m in published.MEDIANS if m.group in groups]


def _factor(name: str, adverse: bool, rule: str) -> Factor:
    row = published.table4_row(name)
    hr = row.adverse()
    return Factor(name, adverse, hr.hr, (hr.lower, hr.upper), hr.p, rule,
                  f"{row.source} (adverse: {row.adverse_level})", row.independent,
                  evidence.reestimate(name) if row.independent else None)


def combined_relative_hazard(factors: tuple[Factor, ...]) -> RelativeHazard:
    """Relative hazard of the adverse independent factors present, against none.

    .. math:: \\mathrm{RH} = \\exp\\Big(\\sum_k \\beta_k\\Big),\\quad
              \\mathrm{se} = \\sqrt{\\textstyle\\sum_k \\mathrm{se}_k^2}

    with each se recovered from the published 95% CI, the log-HRs taken as independent.
    """
    present = [f for f in factors if f.independent and f.adverse]
    log_rh = sum(math.log(f.hr) for f in present)
    se = math.sqrt(sum(published.log_hr_se(published.table4_row(f.name).adverse()) ** 2
                       for f in present))
    z = published.Z95
    ci = (math.exp(log_rh - z * se), math.exp(log_rh + z * se))
    if len(present) == 1:  # one factor: its published CI, not a rounded reconstruction
        ci = present[0].ci
    names = tuple(f.name for f in present)
    return RelativeHazard(math.exp(log_rh), ci, names, evidence.combined_reestimate(names))


def _parse_choice(field_name: str, raw: object, choices: tuple[str, ...]) -> str:
    text = raw.strip().lower() if isinstance(raw, str) else None
    if text is not None and field_name == "child_pugh_class":
        text = text.upper()
    if text in choices:
        return text
    allowed = ", ".join(choices)
    raise InputError(field_name, raw, None, allowed,
                     f"{label(field_name)} must be one of {allowed}; got {shown(raw)}")


def _parse_yes_no(field_name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _YES | _NO:
        return raw.strip().lower() in _YES
    message = (f"{label(field_name)} must be yes or no; got {shown(raw)}"
               if raw not in (None, "") else f"{label(field_name)} is required; answer yes or no")
    raise InputError(field_name, raw, None, "yes or no", message)


def _given(raw: Mapping[str, object], key: str) -> bool:
    value = raw.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def score(raw: Mapping[str, object], now: datetime | None = None,
          dates: Mapping[str, date] | None = None) -> RiskProfile:
    """Score one patient.

    Parameters
    ----------
    raw
        Inputs by their interface names (``albumin``, ``lymphocytes``, ``afp``,
        ``extrahepatic_spread``; optionally ``bilirubin``, ``inr``, ``ascites``,
        ``encephalopathy`` together, or ``child_pugh_class``; optionally ``lab_date``),
        values as entered (numbers or text, read by :mod:`calculator.number_entry`) and
        optional ``<name>_unit`` keys.
    now
        The time of the calculation, supplied by the caller (the core reads no clock).
        It is echoed as ``calculated_at`` and dates the lab-date checks; without it a
        given lab date is not checked against anything.
    dates
        The day each lab was taken, by input name, where the labs carry their own dates
        (a FHIR Observation's effective date; :mod:`calculator.fhir`). It takes
        precedence over ``lab_date`` for the inputs it names.

    Raises
    ------
    InputError
        Listing every invalid field at once.

    Examples
    --------
    >>> p = score({"albumin": 35, "lymphocytes": 1.1, "afp": 250,
    ...            "extrahepatic_spread": True})
    >>> p.to_dict()["pni"]["value"], p.adverse_count
    (40.5, 3)
    """
    if not isinstance(raw, Mapping):
        raise InputError("input", raw, None, "an object of named fields",
                         f"the input must be an object of named fields; got {type(raw).__name__}")
    problems: list[InputError] = []
    unknown = sorted(str(k) for k in raw if k not in ACCEPTED_KEYS)
    for key in unknown:
        problems.append(InputError(key, raw[key], None, ", ".join(FIELDS),
                                   f"{shown(key)} is not a known input; known inputs are "
                                   f"{', '.join(FIELDS)} and <name>_unit"))

    def attempt(func: Any, *args: Any) -> Any:
        try:
            return func(*args)
        except InputError as err:
            problems.extend(err.errors)
            return None

    measured: dict[str, Measurement | None] = {}
    for name in ("albumin", "lymphocytes", "afp"):
        measured[name] = attempt(measure, name, raw.get(name), raw.get(f"{name}_unit"))
    spread = attempt(_parse_yes_no, "extrahepatic_spread", raw.get("extrahepatic_spread"))
    lab_date = (attempt(parse_lab_date, "lab_date", raw["lab_date"])
                if _given(raw, "lab_date") else None)
    child_pugh_inputs: list[Measurement | Choice] = []
    warnings: list[tuple[str, str]] = []
    child_pugh = attempt(_child_pugh, raw, measured["albumin"], child_pugh_inputs, warnings)
    if problems:
        raise InputError.collect(problems)

    albumin, lymphocytes, afp = measured["albumin"], measured["lymphocytes"], measured["afp"]
    assert albumin and lymphocytes and afp and spread is not None
    pni = prognostic_nutritional_index(albumin.value, lymphocytes.value)
    high = pni_is_high(pni)
    factors: tuple[Factor, ...] = (
        _factor("afp", afp.value >= published.AFP_CUTOFF.value, published.AFP_CUTOFF.rule),
        _factor("extrahepatic_spread", spread, "adverse if extrahepatic spread is present"),
        _factor("pni", not high, published.PNI_CUTOFF.rule),
    )
    if child_pugh is not None:
        cp_p = published.table4_row("child_pugh").adverse().p
        factors += (_factor("child_pugh", child_pugh.child_pugh_class != "A",
                            "adverse if Child-Pugh class B (or C); not an independent "
                            f"predictor (multivariable p = {cp_p}), left out of the "
                            "combined hazard"),)
    taken = {**({} if lab_date is None else dict.fromkeys(QUANTITIES, lab_date)),
             **(dates or {})}
    labs = [replace(m, date=taken[m.field]) if m.field in taken else m
            for m in (albumin, lymphocytes, afp,
                      *(i for i in child_pugh_inputs if isinstance(i, Measurement)))]
    dated = {m.field: m for m in labs}
    inputs = (dated["albumin"], dated["lymphocytes"], dated["afp"],
              Choice("extrahepatic_spread", raw.get("extrahepatic_spread"), spread),
              *(dated.get(i.field, i) for i in child_pugh_inputs))
    warnings[:0] = [(m.field, w) for m in labs for w in m.warnings]
    warnings += _date_warnings(labs, now)
    if child_pugh is not None and child_pugh.child_pugh_class == "C":
        warnings.append(("child_pugh_class" if child_pugh.score is None else "child_pugh",
                         "Child-Pugh class C: the study had no class C patients (Table 1: "
                         f"scores {min(STUDY_CHILD_PUGH_SCORES)}–{max(STUDY_CHILD_PUGH_SCORES)} "
                         "only), so this profile does not apply"))
    return RiskProfile(pni, high, factors, combined_relative_hazard(factors), child_pugh,
                       inputs, tuple(warnings), now, lab_date)


def _date_warnings(labs: list[Measurement], now: datetime | None) -> list[tuple[str, str]]:
    """The lab-date warnings (:mod:`calculator.lab_dates`) for the labs that carry a date."""
    dates = {m.field: m.date for m in labs if m.date is not None}
    if not dates:
        return []
    if now is None:
        return [("lab_date", "the lab date was not checked: no time of calculation was "
                             "given to compare it with")]
    return lab_date_warnings(dates, now.date())


def _child_pugh(raw: Mapping[str, object], albumin: Measurement | None,
                echoed: list[Measurement | Choice],
                warnings: list[tuple[str, str]]) -> ChildPugh | None:
    """Child-Pugh from its items or from a class given directly; never assumes normal.

    Items given only in part are read (an invalid one is an error) and echoed, but no
    Child-Pugh is calculated: a warning names what is missing. Child-Pugh is not part of
    the relative hazard, so the result stands without it.
    """
    given = [item for item in CHILD_PUGH_ITEMS if _given(raw, item)]
    if _given(raw, "child_pugh_class"):
        if given:
            raise InputError("child_pugh_class", raw.get("child_pugh_class"), None,
                             "a class or the items, not both",
                             f"{label('child_pugh_class')} was given together with "
                             f"{_names(given)}; give either the class or all four items "
                             f"({_names(CHILD_PUGH_ITEMS)}), not both")
        cls = _parse_choice("child_pugh_class", raw["child_pugh_class"], CLASSES)
        echoed.append(Choice("child_pugh_class", raw["child_pugh_class"], cls))
        return ChildPugh(None, cls)
    if not given:
        return None
    problems: list[InputError] = []
    values: dict[str, Any] = {}
    for item in given:
        try:
            if item in ("bilirubin", "inr"):
                values[item] = measure(item, raw[item], raw.get(f"{item}_unit"))
            else:
                choices = ASCITES if item == "ascites" else ENCEPHALOPATHY
                values[item] = Choice(item, raw[item], _parse_choice(item, raw[item], choices))
        except InputError as err:
            problems.extend(err.errors)
    if problems:
        raise InputError.collect(problems)
    echoed.extend(values[item] for item in CHILD_PUGH_ITEMS if item in values)
    missing = [item for item in CHILD_PUGH_ITEMS if item not in values]
    if missing:
        warnings.append(("child_pugh", f"Child-Pugh was not calculated: {_names(missing)} "
                                       f"{'is' if len(missing) == 1 else 'are'} missing "
                                       f"(given: {_names(given)}); a missing item is never "
                                       "assumed normal. Child-Pugh is not part of the "
                                       "relative hazard, so the result stands without it."))
        return None
    if albumin is None:
        return None  # albumin's own error is already reported
    return assess(values["bilirubin"].value, albumin.value, values["inr"].value,
                  str(values["ascites"].value), str(values["encephalopathy"].value))


def _names(fields: tuple[str, ...] | list[str]) -> str:
    """Fields by their labels, as a list in a sentence: "INR, Ascites and Hepatic ..."."""
    labels = [label(f) for f in fields]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
