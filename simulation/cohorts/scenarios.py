"""Simulation scenarios: the generating model of a synthetic cohort.

A :class:`Scenario` fixes the true conditional log hazard ratios of overall survival
(steps at the published cut-offs, or a log-linear PNI effect), the outcome targets the
censoring and baseline are calibrated to, and the design (accrual window, Weibull shape).
Four are built in, all read from :mod:`calculator.published`:

``tog2025``
    Table 4's multivariable model as the truth: AFP >= 200, extrahepatic spread,
    PNI below the cut-off and Child-Pugh B with their adverse multivariable HRs; the
    other four factors have no effect.
``tog2025-null-pni``
    The same, with no PNI effect.
``tog2025-null``
    No factor has an effect (the global null).
``tog2025-continuous``
    AFP, spread and Child-Pugh B as in ``tog2025``; PNI acts log-linearly with no
    threshold, with a slope matched to the published step (see
    :func:`simulation.cohorts.calibrate.matched_pni_slope`).

User scenarios come from TOML files (:func:`load_scenario_toml`); the shipped example
``simulation/cohorts/scenario_files/tog2025-weaker-pni.toml`` documents every field.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from calculator.errors import InputError
from calculator.published import COHORT, MEDIANS, TABLE1, table4_row
from simulation.cohorts.covariates import matched_pni_slope
from simulation.cohorts.factors import DEFAULT_PNI_CUTOFF, FACTORS, code_factors, pni_values

#: Bump when the generator changes in a way that changes cohorts for the same seed; it is
#: part of :meth:`Scenario.to_dict`, hence of a simulation study's fingerprint.
GENERATOR_VERSION = 1

#: The eight Table 4 factors (1 = adverse level), as named in the project's interfaces.
STEP_FACTORS: tuple[str, ...] = FACTORS
#: The key of a continuous PNI effect: log-HR per one-unit *increase* in PNI (negative
#: when a higher PNI is protective). It is the coefficient of PNI in a Cox model.
PNI_SLOPE = "pni_per_unit"
EFFECT_NAMES: tuple[str, ...] = STEP_FACTORS + (PNI_SLOPE,)
PNI_EFFECTS = ("step", "continuous")

#: Table 4 row names of the four factors with a multivariable estimate.
TABLE4_NAMES: dict[str, str] = {"afp": "afp", "child_pugh_b": "child_pugh",
                                "extrahepatic_spread": "extrahepatic_spread",
                                "pni_low": "pni"}

#: Assumed share of ECOG 2 among all patients. Table 1 pools ECOG 1-2; second-line
#: TKIs are seldom started at ECOG 2, so it is taken to be the minority of that group.
#: Not a published number: an assumption, which a TOML scenario may change. ECOG 1 vs 2
#: changes no factor (``ecog_1_plus`` pools them).
DEFAULT_ECOG2_SHARE = 0.10
#: Marks a design number that :func:`simulation.cohorts.calibrate.calibrate` solves for.
CALIBRATED = "calibrated"

#: A scenario's name: letters, digits, '-', '_' and '.'; a point of a design grid adds
#: ``+key=value`` parts (:mod:`simulation.study.grids`), e.g. ``tog2025+n=100``.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\+[A-Za-z0-9_.]+=[A-Za-z0-9._-]+)*")


class ScenarioError(InputError):
    """A scenario that cannot be built: names the field, the value and what is allowed."""


def _error(field_name: str, value: Any, allowed: str, message: str,
           hint: str | None = None) -> ScenarioError:
    return ScenarioError(field_name, value, None, allowed, message, hint)


def accrual_window_months() -> int:
    """Length in months of the study's recruitment period, first to last month inclusive.

    October 2020 - June 2024 is 45 months.

    >>> accrual_window_months()
    45
    """
    (y1, m1), (y2, m2) = COHORT["accrual_first_month"], COHORT["accrual_last_month"]
    return (y2 - y1) * 12 + m2 - m1 + 1


def _published_median(endpoint: str) -> float:
    for median in MEDIANS:
        if median.group == "all" and median.endpoint == endpoint:
            return median.median_months
    raise LookupError(f"no whole-cohort median {endpoint} in the published data")


def published_adverse_log_hr(factor: str) -> float:
    """ln of Table 4's multivariable HR of ``factor``, coded so that > 0 is adverse."""
    return math.log(table4_row(TABLE4_NAMES[factor]).adverse().hr)


class Effects(Mapping[str, float]):
    """An immutable, hashable mapping of effect name to conditional log-HR."""

    __slots__ = ("_items",)

    def __init__(self, effects: Mapping[str, float] | None = None) -> None:
        items = dict(effects or {})
        order = {name: i for i, name in enumerate(EFFECT_NAMES)}
        self._items = tuple(sorted(items.items(), key=lambda kv: order.get(kv[0], len(order))))

    def __getitem__(self, key: str) -> float:
        for name, value in self._items:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Effects({dict(self._items)!r})"


@dataclass(frozen=True)
class Targets:
    """What the calibration makes the expected cohort show.

    ``death_fraction`` (deaths / patients), ``median_followup_months`` (reverse
    Kaplan-Meier), ``median_os_months`` and ``median_pfs_months`` (Kaplan-Meier), and
    ``pfs_event_fraction`` (patients with progression or death / patients; None leaves
    the progression Weibull shape equal to that of death instead of solving it).
    """

    death_fraction: float
    median_followup_months: float
    median_os_months: float
    median_pfs_months: float
    pfs_event_fraction: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"death_fraction": self.death_fraction,
                "median_followup_months": self.median_followup_months,
                "median_os_months": self.median_os_months,
                "median_pfs_months": self.median_pfs_months,
                "pfs_event_fraction": self.pfs_event_fraction}


def published_targets() -> Targets:
    """The study's outcomes: death fraction, median follow-up, median OS and PFS, and the
    share that progressed (or died), as published."""
    return Targets(death_fraction=COHORT["deaths"] / COHORT["n"],
                   median_followup_months=float(COHORT["followup_median_months"]),
                   median_os_months=_published_median("os"),
                   median_pfs_months=_published_median("pfs"),
                   pfs_event_fraction=COHORT["progressions"] / COHORT["n"])


@dataclass(frozen=True)
class Scenario:
    """A generating model for synthetic cohorts (hashable; see :meth:`to_dict`).

    Attributes
    ----------
    name : str
        Identifier (letters, digits, ``-``, ``_``, ``.``).
    effects : Effects
        Factor name -> true conditional log-HR for OS, coded adverse (> 0 is worse).
        Keys from :data:`STEP_FACTORS`; a continuous PNI effect is under
        :data:`PNI_SLOPE` (log-HR per PNI unit increase). Absent factors have no effect.
    pni_effect : str
        ``"step"`` (PNI < ``pni_cutoff`` is a factor) or ``"continuous"`` (log-linear).
    targets : Targets
        Death fraction, median follow-up, median OS and PFS that the calibration hits.
    accrual_months : float
        Length of the uniform staggered-entry window.
    weibull_shape : float or None
        Shape of the Weibull baseline hazard of death and of progression; None means
        calibrated (solved with the death fraction target).
    followup_after_accrual_months : float or None
        Time from the end of accrual to the administrative end of study; None means
        calibrated. Exactly one of this and ``weibull_shape`` is None. The default, 0,
        reads the paper's window (October 2020 - June 2024) as both the accrual period
        and the study period, and lets the Weibull shape carry the death fraction: with
        a constant baseline hazard (shape 1) the published death fraction cannot be
        reached with the published follow-up at any end of study.
    pni_cutoff : float
        Where the true PNI step is (default: the published cut-off); the AFP step is at the
        published 200 ng/mL.
    ecog2_share : float
        Share of ECOG 2 among all patients (Table 1 pools ECOG 1-2).
    description : str
        One line for humans.
    """

    name: str
    effects: Effects
    pni_effect: str = "step"
    targets: Targets = field(default_factory=published_targets)
    accrual_months: float = field(default_factory=lambda: float(accrual_window_months()))
    weibull_shape: float | None = None
    followup_after_accrual_months: float | None = 0.0
    pni_cutoff: float = DEFAULT_PNI_CUTOFF
    ecog2_share: float = DEFAULT_ECOG2_SHARE
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.effects, Effects):
            object.__setattr__(self, "effects", Effects(self.effects))
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form; :func:`scenario_from_dict` inverts it."""
        return {
            "name": self.name,
            "description": self.description,
            "pni_effect": self.pni_effect,
            "effects": dict(self.effects),
            "targets": self.targets.to_dict(),
            "accrual_months": self.accrual_months,
            "weibull_shape": self.weibull_shape,
            "followup_after_accrual_months": self.followup_after_accrual_months,
            "pni_cutoff": self.pni_cutoff,
            "ecog2_share": self.ecog2_share,
            "generator_version": GENERATOR_VERSION,
        }


def _number(field_name: str, value: Any, low: float, high: float, *, open_low: bool = False,
            open_high: bool = False, unit: str = "") -> float:
    """``value`` as a float within the range, or a ScenarioError naming the field."""
    left, right = ("(" if open_low else "["), (")" if open_high else "]")
    allowed = f"a number in {left}{low:g}, {high:g}{right}{(' ' + unit) if unit else ''}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error(field_name, value, allowed,
                     f"{field_name} must be {allowed}; got {value!r}",
                     "write a plain number without quotes")
    x = float(value)
    too_low = x <= low if open_low else x < low
    too_high = x >= high if open_high else x > high
    if not math.isfinite(x) or too_low or too_high:
        raise _error(field_name, value, allowed, f"{field_name} must be {allowed}; got {value!r}")
    return x


def validate(scenario: Scenario) -> None:
    """Raise :class:`ScenarioError` for the first invalid field of ``scenario``."""
    if not isinstance(scenario.name, str) or not NAME_PATTERN.fullmatch(scenario.name):
        raise _error("name", scenario.name, "letters, digits, '-', '_' or '.'",
                     f"name must be letters, digits, '-', '_' or '.'; got {scenario.name!r}")
    if scenario.pni_effect not in PNI_EFFECTS:
        raise _error("pni_effect", scenario.pni_effect, " or ".join(PNI_EFFECTS),
                     f"pni_effect must be 'step' or 'continuous'; got {scenario.pni_effect!r}")
    for name, value in scenario.effects.items():
        if name not in EFFECT_NAMES:
            raise _error(f"effects.{name}", value, ", ".join(EFFECT_NAMES),
                         f"unknown effect {name!r}; known: {', '.join(EFFECT_NAMES)}")
        _number(f"effects.{name}", value, -5.0, 5.0, unit="(log-HR)")
    if scenario.pni_effect == "continuous":
        if PNI_SLOPE not in scenario.effects:
            raise _error(f"effects.{PNI_SLOPE}", None, "a log-HR per PNI unit",
                         f"pni_effect 'continuous' needs effects.{PNI_SLOPE}",
                         "e.g. log_hazard_ratios.pni_per_unit = -0.1")
        if "pni_low" in scenario.effects:
            raise _error("effects.pni_low", scenario.effects["pni_low"], "absent",
                         "pni_low is a step; with pni_effect 'continuous' use pni_per_unit")
    elif PNI_SLOPE in scenario.effects:
        raise _error(f"effects.{PNI_SLOPE}", scenario.effects[PNI_SLOPE], "absent",
                     f"{PNI_SLOPE} needs pni_effect = 'continuous'")
    t = scenario.targets
    _number("targets.death_fraction", t.death_fraction, 0.0, 1.0, open_low=True, open_high=True)
    _number("targets.median_followup_months", t.median_followup_months, 0.0, 600.0,
            open_low=True, unit="months")
    _number("targets.median_os_months", t.median_os_months, 0.0, 600.0, open_low=True,
            unit="months")
    _number("targets.median_pfs_months", t.median_pfs_months, 0.0, t.median_os_months,
            open_low=True, open_high=True, unit="months (PFS <= OS, so below median OS)")
    if t.pfs_event_fraction is not None:
        _number("targets.pfs_event_fraction", t.pfs_event_fraction, t.death_fraction, 1.0,
                open_high=True, unit="(every death is a PFS event, so at least the death "
                                     "fraction)")
    _number("accrual_months", scenario.accrual_months, 0.0, 600.0, open_low=True, unit="months")
    calibrated = [name for name in ("weibull_shape", "followup_after_accrual_months")
                  if getattr(scenario, name) is None]
    if len(calibrated) != 1:
        raise _error("weibull_shape", scenario.weibull_shape,
                     f"exactly one of weibull_shape and followup_after_accrual_months "
                     f"'{CALIBRATED}'",
                     "exactly one of weibull_shape and followup_after_accrual_months must "
                     f"be '{CALIBRATED}' (the death fraction target fixes it); got "
                     f"{len(calibrated)}",
                     f'e.g. weibull_shape = 1.0 with followup_after_accrual_months = '
                     f'"{CALIBRATED}"')
    if scenario.weibull_shape is not None:
        _number("weibull_shape", scenario.weibull_shape, 0.2, 5.0)
    if scenario.followup_after_accrual_months is not None:
        _number("followup_after_accrual_months", scenario.followup_after_accrual_months,
                0.0, 600.0, unit="months")
    _number("pni_cutoff", scenario.pni_cutoff, 20.0, 80.0)
    _number("ecog2_share", scenario.ecog2_share, 0.0, 1.0 - _ecog0_share(),
            unit="(ECOG 1-2 of Table 1 holds ECOG 1 and 2)")
    if not isinstance(scenario.description, str):
        raise _error("description", scenario.description, "text",
                     "description must be text")


def _ecog0_share() -> float:
    return float(TABLE1["ecog"]["0"])


def truth(scenario: Scenario) -> dict[str, float]:
    """The generating conditional log-HRs, keyed by factor name.

    For a step scenario: all eight factors of :data:`STEP_FACTORS` (0.0 where there is no
    effect). For a continuous PNI effect: the seven other factors and ``pni_per_unit``,
    the log-HR per one-unit increase in PNI (no ``pni_low``: a dichotomised PNI is not
    part of the generating model, so its reference value must be computed from data).

    >>> round(truth(get_scenario("tog2025"))["pni_low"], 4)
    1.4271
    """
    values = {name: float(scenario.effects.get(name, 0.0)) for name in STEP_FACTORS}
    if scenario.pni_effect == "continuous":
        del values["pni_low"]
        values[PNI_SLOPE] = float(scenario.effects[PNI_SLOPE])
    return values


# --- Built-in scenarios --------------------------------------------------------------
def linear_predictor(covariates: dict[str, np.ndarray], scenario: Scenario) -> np.ndarray:
    """The log relative hazard of each patient under ``scenario``.

    .. math:: \\eta = \\sum_f \\beta_f x_f + \\gamma\\,(\\mathrm{PNI} - c)

    with :math:`x_f` the 0/1 step factors (coded by :func:`simulation.cohorts.factors.code_factors`,
    the project's one coding, from the rounded values), :math:`\\beta_f` their conditional log-HRs and,
    for a continuous PNI effect, :math:`\\gamma` the log-HR per PNI unit centred at the
    cut-off :math:`c` (the centring only moves the baseline, which is calibrated).
    """
    factors = code_factors(covariates, scenario.pni_cutoff)
    eta = np.zeros(np.shape(covariates["age"]))
    for name, beta in scenario.effects.items():
        if name in factors:
            eta += beta * factors[name]
    if scenario.pni_effect == "continuous":
        pni = pni_values(covariates["albumin_g_l"], covariates["lymphocytes_10e9_l"])
        eta += scenario.effects["pni_per_unit"] * (pni - scenario.pni_cutoff)
    return eta


def _published_effects(*factors: str) -> dict[str, float]:
    return {f: published_adverse_log_hr(f) for f in factors}


def _tog2025() -> Scenario:
    return Scenario("tog2025", Effects(_published_effects(
        "afp", "extrahepatic_spread", "pni_low", "child_pugh_b")),
        description="Table 4 multivariable model as the truth")


def _tog2025_null_pni() -> Scenario:
    return Scenario("tog2025-null-pni", Effects(_published_effects(
        "afp", "extrahepatic_spread", "child_pugh_b")),
        description="Table 4 model without a PNI effect")


def _tog2025_null() -> Scenario:
    return Scenario("tog2025-null", Effects({}), description="no factor has an effect")


def _tog2025_continuous() -> Scenario:
    effects = _published_effects("afp", "extrahepatic_spread", "child_pugh_b")
    effects[PNI_SLOPE] = matched_pni_slope(published_adverse_log_hr("pni_low"),
                                           DEFAULT_PNI_CUTOFF, DEFAULT_ECOG2_SHARE)
    return Scenario("tog2025-continuous", Effects(effects), pni_effect="continuous",
                    description="log-linear PNI effect (no threshold), slope matched to "
                                "the published PNI step")


BUILTINS = {"tog2025": _tog2025, "tog2025-null-pni": _tog2025_null_pni,
            "tog2025-null": _tog2025_null, "tog2025-continuous": _tog2025_continuous}


@lru_cache(maxsize=None)
def _builtin(name: str) -> Scenario:
    return BUILTINS[name]()


def get_scenario(name_or_toml_path: str) -> Scenario:
    """A built-in scenario by name, or a user scenario from a TOML file.

    Raises
    ------
    ScenarioError
        Unknown name, unreadable file, or an invalid scenario (the message names the
        field, the value and what is accepted).
    """
    key = str(name_or_toml_path)
    if key in BUILTINS:
        return _builtin(key)
    path = Path(key)
    if key.lower().endswith(".toml") or path.exists():
        return load_scenario_toml(path)
    raise _error("scenario", key, ", ".join(BUILTINS) + " or a .toml file",
                 f"unknown scenario {key!r}; built-in: {', '.join(BUILTINS)}",
                 "or give the path of a scenario .toml file")


def example_toml_paths() -> list[Path]:
    """The example scenario files shipped with the package."""
    return sorted((Path(__file__).parent / "scenario_files").glob("*.toml"))


# --- TOML ----------------------------------------------------------------------------
_TOP_KEYS = {"name", "description", "base", "pni_effect", "accrual_months", "weibull_shape",
             "followup_after_accrual_months", "pni_cutoff", "ecog2_share",
             "hazard_ratios", "log_hazard_ratios", "targets"}
#: Fields that may be given as "calibrated" (TOML has no null).
_CALIBRATABLE = ("weibull_shape", "followup_after_accrual_months")
_TARGET_KEYS = {"death_fraction", "median_followup_months", "median_os_months",
                "median_pfs_months", "pfs_event_fraction"}


def load_scenario_toml(path: str | Path) -> Scenario:
    """Read a scenario from a TOML file (see the shipped example for every field).

    Fields: ``name`` (required), ``description``, ``base`` (a built-in to start from; its
    effects are kept unless overridden), ``pni_effect``, ``accrual_months``,
    ``weibull_shape``, ``followup_after_accrual_months``, ``pni_cutoff``, ``ecog2_share``, tables
    ``[hazard_ratios]`` (adverse-coded HRs; ``pni_per_unit`` as HR per PNI unit) and/or
    ``[log_hazard_ratios]``, and ``[targets]``. Unknown keys are errors.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error("scenario", str(path), "an existing .toml file",
                     f"scenario file {str(path)!r} not found",
                     f"built-in scenarios: {', '.join(BUILTINS)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _error("scenario", str(path), "a readable UTF-8 .toml file",
                     f"cannot read scenario file {str(path)!r}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error("scenario", str(path), "valid TOML",
                     f"{path}: not valid TOML: {exc}") from None
    try:
        return scenario_from_toml_data(data)
    except ScenarioError as exc:
        exc.args = (f"{path}: {exc.message}",)
        exc.message = exc.args[0]
        raise


def _table(data: Mapping[str, Any], key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _error(key, value, "a TOML table", f"{key} must be a table, e.g. [{key}]")
    return value


def scenario_from_toml_data(data: dict[str, Any]) -> Scenario:
    """A :class:`Scenario` from parsed TOML (see :func:`load_scenario_toml`)."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise _error(unknown[0], data[unknown[0]], ", ".join(sorted(_TOP_KEYS)),
                     f"unknown field {unknown[0]!r}; known: {', '.join(sorted(_TOP_KEYS))}")
    if "name" not in data:
        raise _error("name", None, "text", "a scenario file needs a name", 'name = "my-scenario"')
    base_name = data.get("base")
    if base_name is None:
        base = Scenario(str(data["name"]), Effects({}))
    elif base_name in BUILTINS:
        base = _builtin(base_name)
    else:
        raise _error("base", base_name, ", ".join(BUILTINS),
                     f"base must be a built-in scenario ({', '.join(BUILTINS)}); got {base_name!r}")

    if data["name"] in BUILTINS:
        raise _error("name", data["name"], "a name that is not a built-in scenario",
                     f"name {data['name']!r} is a built-in scenario; choose another name",
                     f'to start from it, write base = "{data["name"]}"')
    return with_fields(base, {k: v for k, v in data.items() if k != "base"})


#: Fields that :func:`with_fields` changes (``hazard_ratios``, ``log_hazard_ratios`` and
#: ``targets`` are tables whose keys are factors and targets).
FIELD_KEYS: tuple[str, ...] = ("name", "description", "pni_effect", "accrual_months",
                               "weibull_shape", "followup_after_accrual_months",
                               "pni_cutoff", "ecog2_share")
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "hazard_ratios": EFFECT_NAMES, "log_hazard_ratios": EFFECT_NAMES,
    "targets": tuple(sorted(_TARGET_KEYS))}


def with_fields(base: Scenario, data: Mapping[str, Any]) -> Scenario:
    """``base`` with the fields of ``data`` changed, as a scenario file changes its base.

    ``data`` holds the keys of a scenario file other than ``base`` (:data:`FIELD_KEYS`,
    and the tables of :data:`TABLE_KEYS` as dicts): a hazard ratio given replaces the
    base's effect of that factor, and the others are kept. Every value is checked as
    the TOML reader checks it (:class:`ScenarioError` names the field, e.g.
    ``hazard_ratios.pni_low``, the value and what is accepted).

    >>> weaker = with_fields(get_scenario("tog2025"), {"name": "weaker",
    ...                      "hazard_ratios": {"pni_low": 2.0}})
    >>> round(weaker.effects["pni_low"], 4), round(weaker.effects["afp"], 4)
    (0.6931, 0.678)
    """
    unknown = sorted(set(data) - set(FIELD_KEYS) - set(TABLE_KEYS))
    if unknown:
        known = sorted(set(FIELD_KEYS) | set(TABLE_KEYS))
        raise _error(unknown[0], data[unknown[0]], ", ".join(known),
                     f"unknown field {unknown[0]!r}; known: {', '.join(known)}")
    effects = dict(base.effects)
    hrs, log_hrs = _table(data, "hazard_ratios"), _table(data, "log_hazard_ratios")
    for table, given in (("hazard_ratios", hrs), ("log_hazard_ratios", log_hrs)):
        unknown = sorted(set(given) - set(EFFECT_NAMES))
        if unknown:
            raise _error(f"{table}.{unknown[0]}", given[unknown[0]], ", ".join(EFFECT_NAMES),
                         f"unknown factor {unknown[0]!r}; known: {', '.join(EFFECT_NAMES)}")
    both = sorted(set(hrs) & set(log_hrs))
    if both:
        raise _error(f"hazard_ratios.{both[0]}", hrs[both[0]], "one of the two tables",
                     f"{both[0]} is given both as a hazard ratio and as a log hazard ratio")
    for name, value in hrs.items():
        effects[name] = math.log(_number(f"hazard_ratios.{name}", value, 0.0, math.inf,
                                         open_low=True, open_high=True))
    for name, value in log_hrs.items():
        effects[name] = _number(f"log_hazard_ratios.{name}", value, -5.0, 5.0)
    pni_effect = data.get("pni_effect", base.pni_effect)
    if pni_effect == "continuous" and "pni_low" in effects and "pni_low" not in hrs \
            and "pni_low" not in log_hrs:
        del effects["pni_low"]  # inherited step replaced by the continuous effect
    if pni_effect == "step" and PNI_SLOPE in effects and PNI_SLOPE not in hrs \
            and PNI_SLOPE not in log_hrs:
        del effects[PNI_SLOPE]

    target_data = _table(data, "targets")
    unknown = sorted(set(target_data) - _TARGET_KEYS)
    if unknown:
        raise _error(f"targets.{unknown[0]}", target_data[unknown[0]],
                     ", ".join(sorted(_TARGET_KEYS)),
                     f"unknown target {unknown[0]!r}; known: {', '.join(sorted(_TARGET_KEYS))}")
    targets = replace(base.targets, **target_data)

    overrides: dict[str, Any] = {key: data[key] for key in FIELD_KEYS if key in data}
    for key in _CALIBRATABLE:
        if overrides.get(key) == CALIBRATED:
            overrides[key] = None
        elif isinstance(overrides.get(key), str):
            raise _error(key, overrides[key], f"a number or '{CALIBRATED}'",
                         f"{key} must be a number or '{CALIBRATED}'; got {overrides[key]!r}")
    return replace(base, effects=Effects(effects), targets=targets, **overrides)


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """Inverse of :meth:`Scenario.to_dict`.

    Raises
    ------
    ScenarioError
        If the dict was written by another generator version, or is invalid.
    """
    version = data.get("generator_version")
    if version != GENERATOR_VERSION:
        raise _error("generator_version", version, str(GENERATOR_VERSION),
                     f"scenario written by generator version {version}, this is "
                     f"{GENERATOR_VERSION}", "cohorts would differ; re-create the study")
    fields = {k: v for k, v in data.items() if k not in ("generator_version", "effects",
                                                        "targets")}
    return Scenario(effects=Effects(data["effects"]), targets=Targets(**data["targets"]),
                    **fields)
