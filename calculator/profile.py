"""A patient's risk profile: the study's factors, their hazard ratios and the evidence.

:func:`score` takes the inputs as a form, the API or the command line deliver them
(names of interfaces.md, values as entered, optional ``<name>_unit`` keys) and returns a
:class:`RiskProfile` whose :meth:`~RiskProfile.to_dict` is the result JSON. Every number
it shows comes from :mod:`calculator.published`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Final

from calculator import __version__, published
from calculator.child_pugh import ASCITES, CLASSES, ENCEPHALOPATHY, ChildPugh, assess
from calculator.errors import InputError
from calculator.pni import pni_is_high, prognostic_nutritional_index
from calculator.units import QUANTITIES, Measurement, measure

CHILD_PUGH_ITEMS: Final = ("bilirubin", "inr", "ascites", "encephalopathy")
REQUIRED: Final = ("albumin", "lymphocytes", "afp", "extrahepatic_spread")
FIELDS: Final = (*REQUIRED, *CHILD_PUGH_ITEMS, "child_pugh_class")
ACCEPTED_KEYS: Final = frozenset(FIELDS) | {f"{q}_unit" for q in QUANTITIES}

COMBINED_CAVEAT: Final = (
    "Product of the multivariable hazard ratios of the adverse factors present. The 95% CI "
    "adds the variances of the log hazard ratios recovered from the published CIs as if "
    "they were independent: the paper gives no covariance, so the true interval may be "
    "narrower or wider. A relative hazard, not an absolute survival probability.")

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

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "adverse": self.adverse, "hr": _sig(self.hr),
                "ci": [_sig(self.ci[0]), _sig(self.ci[1])], "p": self.p,
                "rule": self.rule, "source": self.source, "independent": self.independent}


@dataclass(frozen=True)
class RelativeHazard:
    value: float
    ci: tuple[float, float]
    factors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"value": _sig(self.value), "ci": [_sig(self.ci[0]), _sig(self.ci[1])],
                "factors": list(self.factors),
                "reference": "patient with none of the three independent adverse factors",
                "caveat": COMBINED_CAVEAT}


@dataclass(frozen=True)
class RiskProfile:
    """Everything the calculator reports for one patient."""

    pni: Decimal
    pni_high: bool
    factors: tuple[Factor, ...]
    relative_hazard: RelativeHazard
    child_pugh: ChildPugh | None
    inputs: tuple[Measurement | Choice, ...]
    warnings: tuple[tuple[str, str], ...] = field(default=())

    @property
    def adverse_count(self) -> int:
        return sum(f.adverse for f in self.factors if f.independent)

    @property
    def pni_display(self) -> str:
        """PNI to one decimal, rounded down so the shown value never crosses 47.6."""
        return str(self.pni.quantize(Decimal("0.1"), rounding=ROUND_FLOOR))

    def to_dict(self) -> dict[str, Any]:
        """The result JSON of interfaces.md."""
        return {
            "pni": {"value": float(self.pni), "display": self.pni_display,
                    "cutoff": float(published.PNI_CUTOFF.value),
                    "category": "high" if self.pni_high else "low",
                    "rule": f"high if PNI >= {published.PNI_CUTOFF.value} (exact, before "
                            "rounding); PNI = albumin (g/L) + 5 x lymphocytes (10^9/L)",
                    "source": published.PNI_CUTOFF.source},
            "factors": [f.to_dict() for f in self.factors],
            "adverse_count": self.adverse_count,
            "relative_hazard": self.relative_hazard.to_dict(),
            "child_pugh": self.child_pugh.to_dict() if self.child_pugh else None,
            "published_medians": _published_medians(self),
            "published_medians_note": published.PNI_MEDIANS_WITHHELD,
            "warnings": [{"field": f, "message": m} for f, m in self.warnings],
            "inputs": [i.to_dict() if isinstance(i, Choice) else _measurement_dict(i)
                       for i in self.inputs],
            "applicability": published.APPLICABILITY,
            "limits": list(published.LIMITS),
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
                "value": self.value, "canonical_unit": None, "quality": "ok"}


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
            "quality": m.quality}


def _published_medians(profile: RiskProfile) -> list[dict[str, Any]]:
    """The published KM medians that apply to this patient: whole cohort and AFP group."""
    afp_adverse = next(f.adverse for f in profile.factors if f.name == "afp")
    groups = {"all", "afp_high" if afp_adverse else "afp_low"}
    return [{"group": m.group, "endpoint": m.endpoint, "n": m.n,
             "median_months": m.median_months, "ci": list(m.ci),
             "logrank_p": m.logrank_p, "source": m.source}
            for m in published.MEDIANS if m.group in groups]


def _factor(name: str, adverse: bool, rule: str) -> Factor:
    row = published.table4_row(name)
    hr = row.adverse()
    return Factor(name, adverse, hr.hr, (hr.lower, hr.upper), hr.p, rule,
                  f"{row.source} (adverse: {row.adverse_level})", row.independent)


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
    return RelativeHazard(math.exp(log_rh), ci, tuple(f.name for f in present))


def _parse_choice(field_name: str, raw: object, choices: tuple[str, ...]) -> str:
    text = raw.strip().lower() if isinstance(raw, str) else None
    if text is not None and field_name == "child_pugh_class":
        text = text.upper()
    if text in choices:
        return text
    allowed = ", ".join(choices)
    raise InputError(field_name, raw, None, allowed,
                     f"{field_name} must be one of {allowed}; got {raw!r}")


def _parse_yes_no(field_name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _YES | _NO:
        return raw.strip().lower() in _YES
    message = (f"{field_name} must be yes or no; got {raw!r}"
               if raw not in (None, "") else f"{field_name} is required; answer yes or no")
    raise InputError(field_name, raw, None, "yes or no", message)


def _given(raw: Mapping[str, object], key: str) -> bool:
    value = raw.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def score(raw: Mapping[str, object]) -> RiskProfile:
    """Score one patient.

    Parameters
    ----------
    raw
        Inputs by their interface names (``albumin``, ``lymphocytes``, ``afp``,
        ``extrahepatic_spread``; optionally ``bilirubin``, ``inr``, ``ascites``,
        ``encephalopathy`` all together, or ``child_pugh_class``), values as entered
        (numbers or text, decimal commas read) and optional ``<name>_unit`` keys.

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
                                   f"{key} is not a known input; known inputs are "
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
    child_pugh_inputs: list[Measurement | Choice] = []
    child_pugh = attempt(_child_pugh, raw, measured["albumin"], child_pugh_inputs)
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
    inputs = (albumin, lymphocytes, afp,
              Choice("extrahepatic_spread", raw.get("extrahepatic_spread"), spread),
              *child_pugh_inputs)
    warnings = [(m.field, w) for m in inputs if isinstance(m, Measurement) for w in m.warnings]
    if child_pugh is not None and child_pugh.child_pugh_class == "C":
        warnings.append(("child_pugh_class" if child_pugh.score is None else "child_pugh",
                         "Child-Pugh class C: the study had no class C patients (Table 1: "
                         f"scores {min(STUDY_CHILD_PUGH_SCORES)}-{max(STUDY_CHILD_PUGH_SCORES)} "
                         "only), so this profile does not apply"))
    return RiskProfile(pni, high, factors, combined_relative_hazard(factors), child_pugh,
                       inputs, tuple(warnings))


def _child_pugh(raw: Mapping[str, object], albumin: Measurement | None,
                echoed: list[Measurement | Choice]) -> ChildPugh | None:
    """Child-Pugh from its items or from a class given directly; never assumes normal."""
    given = [item for item in CHILD_PUGH_ITEMS if _given(raw, item)]
    if _given(raw, "child_pugh_class"):
        if given:
            raise InputError("child_pugh_class", raw.get("child_pugh_class"), None,
                             "a class or the items, not both",
                             f"child_pugh_class was given together with {', '.join(given)}; "
                             "give either the class or all four items (bilirubin, inr, "
                             "ascites, encephalopathy), not both")
        cls = _parse_choice("child_pugh_class", raw["child_pugh_class"], CLASSES)
        echoed.append(Choice("child_pugh_class", raw["child_pugh_class"], cls))
        return ChildPugh(None, cls)
    if not given:
        return None
    missing = [item for item in CHILD_PUGH_ITEMS if item not in given]
    problems: list[InputError] = [
        InputError(item, None, None, "required with the other Child-Pugh items",
                   f"{item} is missing: Child-Pugh needs bilirubin, inr, ascites and "
                   f"encephalopathy together (a missing item is never assumed normal); "
                   f"got only {', '.join(given)}")
        for item in missing]
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
    if albumin is None:
        return None  # albumin's own error is already reported
    echoed.extend(values[item] for item in CHILD_PUGH_ITEMS)
    return assess(values["bilirubin"].value, albumin.value, values["inr"].value,
                  str(values["ascites"].value), str(values["encephalopathy"].value))
