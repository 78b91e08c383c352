"""Domain-named hypothesis strategies: the scoring core's inputs and survival data for
the statistics engines."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from calculator.fhir import LAB_CODES, NOT_USABLE_CODES, UCUM_UNITS, USABLE_STATUSES

#: Albumin in g/L written as a lab does, one decimal, inside the hard limits 10-60.
albumin_g_l = st.integers(100, 600).map(lambda tenths: Decimal(tenths) / 10)
#: Lymphocytes in 10^9/L with two decimals, inside the hard limits 0.05-50.
lymphocytes_10e9_l = st.integers(5, 5000).map(lambda hundredths: Decimal(hundredths) / 100)
#: AFP in ng/mL, up to two decimals, inside 0-5,000,000.
afp_ng_ml = st.integers(0, 500_000_000).map(lambda hundredths: Decimal(hundredths) / 100)
yes_no = st.sampled_from([True, False, "yes", "no", "Yes", "NO", 1, 0, "true", "false"])


def as_entered(value: Decimal) -> st.SearchStrategy[object]:
    """The same decimal as a user might send it: text, decimal comma, float or int."""
    choices: list[object] = [str(value), str(value).replace(".", ","), float(value)]
    if value == value.to_integral_value():
        choices.append(int(value))
    return st.sampled_from(choices)


#: Anything at all that a form, a JSON body or a CSV cell might carry.
anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.decimals(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                          max_size=2),
    st.sampled_from(["", " ", "3,5", "1,234.5", "1e400", "-0", "nan", "inf", "35 g/L",
                     "\u221235", "0x10", "١٢"]),
)


# ---------------------------------------------------------------------------------------
# Survival data for the statistics engines (simulation.stats)
# ---------------------------------------------------------------------------------------
#
# Every strategy below gives a *stack*: B cohorts of n rows each, with a bool ``mask`` of
# the rows that belong. Rows outside the mask hold junk (NaN, negative or huge times and
# covariates) that no engine may read. Times are whole multiples of TIME_UNIT, exact in
# binary floating point, so a tie is an exact tie and R's ``timefix`` (which merges times
# closer than about 1e-8 relative) never matters; few distinct times make heavy ties.

#: Times are whole multiples of a quarter month.
TIME_UNIT = 0.25
#: A seed for whatever is random but need not shrink: junk, shuffles.
seeds = st.integers(0, 2**32 - 1)


def junk(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """Values for the rows (and covariates) that are left out: NaN, negative, 0, huge."""
    return np.random.default_rng(seed).choice([np.nan, -7.0, 0.0, 1e9], size=shape)


def sometimes_missing(draw: st.DrawFn, values: np.ndarray) -> np.ndarray:
    """``values`` with NaN in a few places, or (as often) none."""
    if not draw(st.booleans()):
        return values
    missing = draw(arrays(np.bool_, values.shape, elements=st.booleans(), fill=st.just(False)))
    return np.where(missing, np.nan, values)


@dataclass(frozen=True)
class SurvivalStack:
    """``time``, ``event`` (0/1 floats) and ``mask`` of shape (B, n); ``seed`` for shuffles."""

    time: np.ndarray
    event: np.ndarray
    mask: np.ndarray
    seed: int


@dataclass(frozen=True)
class GroupedStack(SurvivalStack):
    """A survival stack with a two-group indicator ``group`` (0/1 floats, NaN = missing)."""

    group: np.ndarray


@dataclass(frozen=True)
class MarkerStack(SurvivalStack):
    """A survival stack with a ``marker`` (ties, NaN = missing) and per-cohort ``cutoffs``
    (B, K): each cohort's distinct marker values and a few others, NaN-padded."""

    marker: np.ndarray
    cutoffs: np.ndarray


@dataclass(frozen=True)
class CoxDesign(SurvivalStack):
    """A survival stack with covariates ``X`` (B, n, p) and the fitted ones ``active`` (B, p)."""

    X: np.ndarray
    active: np.ndarray


def every_element(dtype: type, shape: tuple[int, ...], elements: st.SearchStrategy[Any]
                  ) -> st.SearchStrategy[np.ndarray]:
    """An array whose elements are drawn one by one (no background fill value, which would
    make most cohorts constant)."""
    return arrays(dtype, shape, elements=elements, fill=st.nothing())


def missing_rows(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """A bool mask that is mostly True: no row missing, or a few."""
    return st.one_of(st.just(np.ones(shape, dtype=bool)),
                     arrays(np.bool_, shape, elements=st.booleans(), fill=st.just(True)))


@st.composite
def survival_stacks(draw: st.DrawFn, *, max_cohorts: int = 4, min_rows: int = 1,
                    max_rows: int = 24) -> SurvivalStack:
    """Stacks of cohorts with ties, censoring from none to complete, tiny cohorts and
    missing rows.

    Times are 1-``ticks`` quarter months, with ``ticks`` as small as 2 (everyone tied at
    one of two times). Each cohort has its own censoring level, from no censored row to
    every row censored.
    """
    B = draw(st.integers(1, max_cohorts))
    n = draw(st.integers(min_rows, max_rows))
    ticks = draw(st.sampled_from([2, 5, 40, 1000]))
    time = draw(every_element(np.int64, (B, n), st.integers(1, ticks))) * TIME_UNIT
    # A row dies when its draw (0-3) reaches its cohort's level (0: all die, 4: none).
    level = draw(arrays(np.int64, (B, 1), elements=st.integers(0, 4)))
    event = (draw(every_element(np.int64, (B, n), st.integers(0, 3))) >= level)
    mask = draw(missing_rows((B, n))).copy()
    if draw(st.integers(0, 9)) == 9:      # now and then a cohort with no rows at all
        mask[draw(st.integers(0, B - 1))] = False
    seed = draw(seeds)
    time = np.where(mask, time, junk(seed, (B, n)))
    return SurvivalStack(time, event.astype(float), mask, seed)


def _one_per_cohort(draw: st.DrawFn, B: int, choices: list[str]) -> list[str]:
    return draw(st.lists(st.sampled_from(choices), min_size=B, max_size=B))


@st.composite
def binary_groups(draw: st.DrawFn, stack: SurvivalStack) -> GroupedStack:
    """Two groups in each cohort of ``stack``: mixed, tiny (one or two patients), one group
    only, or separated (a group without deaths, or one in which everyone dies).

    Separation is made by changing the group's events; a few group labels are missing
    (NaN) in rows inside the mask.
    """
    B, n = stack.time.shape
    group = draw(every_element(np.bool_, (B, n), st.booleans())).astype(float)
    event = stack.event.copy()
    for b, kind in enumerate(_one_per_cohort(
            draw, B, ["mixed", "tiny", "one group", "no deaths", "only deaths"])):
        if kind == "tiny":
            group[b] = 0.0
            group[b, draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2))] = 1.0
        elif kind == "one group":
            group[b] = float(draw(st.booleans()))
        elif kind == "no deaths":
            event[b, group[b] == 1] = 0.0
        elif kind == "only deaths":
            event[b, group[b] == 1] = 1.0
    group = sometimes_missing(draw, group)
    return GroupedStack(stack.time, event, stack.mask, stack.seed, group)


@st.composite
def marker_stacks(draw: st.DrawFn, stack: SurvivalStack) -> MarkerStack:
    """A marker with many ties (half-units, a small range) for each cohort of ``stack``,
    NaN in some rows, and each cohort's cut-offs: its distinct marker values (in the
    mask) and a few others (below, between and above them), in any order, NaN-padded.
    """
    B, n = stack.time.shape
    spread = draw(st.sampled_from([1, 4, 60]))
    marker = draw(every_element(np.int64, (B, n), st.integers(0, spread))) * 0.5 + 40.0
    marker = sometimes_missing(draw, marker)
    extra = draw(arrays(np.int64, (B, 3), elements=st.integers(-2, 2 * spread + 2))) * 0.25 + 40
    cuts = []
    rng = np.random.default_rng(stack.seed)
    for b in range(B):
        used = marker[b, stack.mask[b] & np.isfinite(marker[b])]
        cuts.append(rng.permutation(np.concatenate([np.unique(used), extra[b]])))
    K = max(len(c) for c in cuts) + draw(st.integers(0, 2))
    cutoffs = np.full((B, K), np.nan)
    for b, c in enumerate(cuts):
        cutoffs[b, :len(c)] = c
    return MarkerStack(stack.time, stack.event, stack.mask, stack.seed, marker, cutoffs)


@st.composite
def cox_designs(draw: st.DrawFn, stack: SurvivalStack, max_covariates: int = 3
                ) -> CoxDesign:
    """Covariates for each cohort of ``stack``, each of one kind per cohort: a balanced
    binary factor, a tiny group (one or two patients), a group without deaths or one
    whose members all die at the first time (separation), lab-like whole numbers with
    ties, a rounded continuous value, or a constant. Some covariates are inactive;
    left-out rows and inactive covariates hold junk.
    """
    B, n = stack.time.shape
    p = draw(st.integers(1, max_covariates))
    X = np.empty((B, n, p))
    time, event = stack.time.copy(), stack.event.copy()
    for k in range(p):
        for b, kind in enumerate(_one_per_cohort(
                draw, B, ["binary", "tiny", "no deaths", "die first", "lab", "continuous",
                          "binary", "lab", "continuous", "constant"])):
            if kind == "tiny":
                X[b, :, k] = 0.0
                X[b, draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2)), k] = 1.0
            elif kind == "lab":
                X[b, :, k] = draw(every_element(np.int64, (n,), st.integers(0, 40)))
            elif kind == "continuous":
                X[b, :, k] = draw(every_element(np.int64, (n,), st.integers(-64, 64))) / 16
            elif kind == "constant":
                X[b, :, k] = draw(st.sampled_from([0.0, 1.0, 37.5]))
            else:
                member = draw(every_element(np.bool_, (n,), st.booleans()))
                X[b, :, k] = member
                if kind == "no deaths":
                    event[b, member] = 0.0
                elif kind == "die first":
                    event[b, member] = 1.0
                    time[b, member & stack.mask[b]] = TIME_UNIT
    active = draw(arrays(np.bool_, (B, p), elements=st.booleans(), fill=st.just(True)))
    X = np.where(stack.mask[:, :, None] & active[:, None, :], X, junk(stack.seed, X.shape))
    return CoxDesign(time, event, stack.mask, stack.seed, X, active)


# --- FHIR Observations (calculator.fhir, the FHIR API and the CDS Hooks service) --------
#: The day the FHIR tests calculate on; Observation dates are drawn around it.
FHIR_NOW = "2025-03-20T12:00:00+00:00"
_FHIR_DAYS = [f"2025-03-{d:02d}" for d in range(1, 29)] + ["2025-01-02", "2024-12-01"]
#: A plausible value per UCUM unit (mostly inside the calculator's limits).
_PLAUSIBLE = {"g/dL": (1, 6), "g/L": (10, 60), "10*9/L": (0.1, 9), "10*3/uL": (0.1, 9),
              "/uL": (100, 9000), "{cells}/uL": (100, 9000), "/mm3": (100, 9000),
              "ng/mL": (0, 10000), "ug/L": (0, 10000), "[IU]/mL": (0, 8000),
              "k[IU]/L": (0, 8000), "mg/dL": (0.2, 20), "umol/L": (3, 340), "{INR}": (0.8, 4),
              "1": (0.8, 4), "{ratio}": (0.8, 4)}


def fhir_value(low: float, high: float) -> st.SearchStrategy[Decimal]:
    return st.integers(int(low * 100), int(high * 100)).map(lambda c: Decimal(c) / 100)


@st.composite
def fhir_observation(draw: st.DrawFn, field: str | None = None, *, clean: bool = False,
                     patient: str = "p1") -> dict[str, Any]:
    """An Observation as an EHR may send it: usually one of the calculator's LOINC codes,
    a usable status, a day-precise date and a UCUM unit of that lab; unless ``clean``, now
    and then a status not used, a partial or missing date, a unit the calculator does not
    read, a comparator, a junk value or an invalid element."""
    codes = [c for c in LAB_CODES if field is None or c.field == field]
    lab = draw(st.sampled_from(codes))
    code = lab.code
    unit = draw(st.sampled_from(sorted(UCUM_UNITS[lab.field])))
    value: object = draw(fhir_value(*_PLAUSIBLE[unit]))
    status: object = draw(st.sampled_from(USABLE_STATUSES))
    effective: dict[str, object] = {"effectiveDateTime": draw(st.sampled_from(_FHIR_DAYS))}
    quantity: dict[str, object] = {"value": value, "system": "http://unitsofmeasure.org",
                                   "code": unit, "unit": unit}
    observation: dict[str, Any] = {
        "resourceType": "Observation", "id": f"obs-{draw(st.integers(0, 10**6))}",
        "status": status, "subject": {"reference": f"Patient/{patient}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]}}
    if not clean:
        mischief = draw(st.integers(0, 59))
        if mischief == 0:
            observation["status"] = draw(st.sampled_from(
                ["preliminary", "cancelled", "entered-in-error", "registered", "unknown",
                 "bogus", ""]))
        elif mischief == 1:
            effective = draw(st.sampled_from([
                {}, {"effectiveDateTime": "2025-03"}, {"effectiveDateTime": "2025"},
                {"effectiveDateTime": "2025-13-01"}, {"effectiveDateTime": "2025-03-01T10:00"},
                {"effectiveDateTime": "2025-03-19T23:30:00-05:00"},
                {"effectivePeriod": {"start": "2025-03-10T08:00:00Z"}},
                {"effectiveInstant": "2025-03-18T08:00:00.000Z"},
                {"effectiveDateTime": "2025-04-30"}]))
        elif mischief == 2:
            quantity["code"] = draw(st.sampled_from(["mg/L", "%", "g/dl", "10^9/L", "",
                                                     "umol/L", "ng/mL", "{INR}"]))
        elif mischief == 3:
            del quantity["code"]
            del quantity["system"]
        elif mischief == 4:
            quantity["comparator"] = draw(st.sampled_from(["<", ">", "<=", "ad"]))
        elif mischief == 5:
            quantity["value"] = draw(anything)
        elif mischief == 6:
            observation["code"]["coding"][0]["code"] = draw(st.sampled_from(
                [*NOT_USABLE_CODES, "2345-7", "718-7", "1751-7 ", ""]))
        elif mischief == 7:
            observation[draw(st.sampled_from(["valueQuantity", "bogusElement"]))] = \
                draw(anything)
        elif mischief == 8:
            observation["subject"] = {"reference": "Patient/someone-else"}
        elif mischief == 9:
            quantity["value"] = draw(st.sampled_from([Decimal("1E+400"), Decimal("-3.5"),
                                                      Decimal("0"), 10**30, "3,5"]))
        elif mischief == 10:
            observation.pop("valueQuantity", None)
            quantity = {}
            observation["dataAbsentReason"] = {"text": "not performed"}
    observation.update(effective)
    if quantity:
        observation["valueQuantity"] = quantity
    return observation


@st.composite
def fhir_bundles(draw: st.DrawFn, *, clean: bool = False, patient: str = "p1") -> object:
    """A Bundle (or list) of a patient's lab Observations; usually the three required labs
    are there, often with older or unused results beside them and bilirubin and INR; unless
    ``clean``, now and then the Bundle itself is malformed."""
    labs = ["albumin", "lymphocytes", "afp"]
    labs = [f for f in labs if clean or draw(st.integers(0, 9)) > 0]
    labs += draw(st.lists(st.sampled_from(["albumin", "lymphocytes", "afp", "bilirubin",
                                           "inr"]), max_size=4))
    resources: list[Any] = [draw(fhir_observation(f, clean=clean, patient=patient))
                            for f in labs]
    if not clean and draw(st.integers(0, 4)) == 0:
        resources.append({"resourceType": "Patient", "id": patient})
    shape = draw(st.integers(0, 19)) if not clean else 1
    if shape == 0:
        return resources
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset",
                              "entry": [{"resource": r} for r in resources]}
    if shape == 2:
        bundle["entry"] = draw(anything)
    elif shape == 3:
        bundle["entry"].append(draw(st.sampled_from([{"resource": None}, "x", {},
                                                     {"resource": {"resourceType": 5}},
                                                     {"resource": {"resourceType": "Nope"}}])))
    elif shape == 4:
        bundle.pop("type")
    elif shape == 5:
        return draw(anything)
    return bundle
