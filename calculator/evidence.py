"""The shipped evidence: the published hazard ratios re-estimated by simulation.

``hcc-prognosis evidence`` simulates the paper's procedure (ROC/Youden PNI cut-off,
univariable screen, multivariable Cox model) on studies like this one and inverts the
simulated distributions of the estimates at the published values (Neyman's confidence
belts). It writes ``calculator/data/evidence.json``; this module is the only one in the
calculator that reads it: as package data, with :mod:`json`, checked field by field.

What the bedside takes from it (the main family of assumptions, the belt of estimates
"as published", i.e. among simulated studies that reported the factor as the paper did):

- :func:`reestimate`: each independent factor's re-estimated HR with its 95% interval;
  a limit the simulation grid could not close is *open* and shown as a bound (``<``/``>``);
- :func:`combined_reestimate`: the re-estimated relative hazard of the adverse factors
  present (how it is combined: :data:`Evidence.combination`);
- :func:`near_cutoff`: whether a PNI lies within the 95% range of the Youden cut-off in
  studies like this one (its category is then uncertain);
- :attr:`Evidence.false_findings`: how often the procedure calls PNI an independent
  predictor when PNI has no effect.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from typing import Any, Final

from calculator.published import INDEPENDENT_FACTORS

#: Where the data file lives inside the package.
DATA_FILE: Final = "data/evidence.json"
#: The layout this module reads.
FORMAT: Final = "hcc-prognosis-evidence/1"
#: The belt the bedside shows.
HEADLINE_BELT: Final = "as_published"
#: Where the evidence page lives in the web calculator (and its section of the report).
PAGE: Final = "/evidence"


class EvidenceFileError(ValueError):
    """The shipped evidence file is missing, or a field of it is not what it must be."""


def _fail(where: str, what: str) -> EvidenceFileError:
    return EvidenceFileError(f"{DATA_FILE}: {where} must be {what}")


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "an object")
    return value


def _finite(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise _fail(where, "a finite number")
    return float(value)


def _number(data: Mapping[str, Any], key: str, where: str) -> float:
    return _finite(data.get(key), f"{where}.{key}")


def _optional_number(data: Mapping[str, Any], key: str, where: str) -> float | None:
    return None if data.get(key) is None else _number(data, key, where)


def _text(data: Mapping[str, Any], key: str, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(f"{where}{key}", "text")
    return value


def _whole(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(f"{where}.{key}", "a whole number")
    return value


def _pair(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or len(value) != 2:
        raise _fail(f"{where}.{key}", "a pair")
    return value


def hr_text(value: float, open_side: str | None = None, fmt: str = "#.3g") -> str:
    """A hazard ratio, with ``<``/``>`` where only a bound is known.

    >>> hr_text(1.284), hr_text(1.284, "below"), hr_text(33.12, "above"), hr_text(102.4)
    ('1.28', '<1.28', '>33.1', '102')
    """
    mark = {"below": "<", "above": ">"}.get(open_side or "", "")
    return f"{mark}{format(value, fmt).rstrip('.')}"


@dataclass(frozen=True)
class Reestimate:
    """A hazard ratio re-estimated by simulation (always as adverse).

    ``hr`` is the median-unbiased estimate, or its bound where the estimate lies beyond
    the grid (``hr_open`` ``below`` or ``above``); ``ci`` the 95% interval, each limit
    exact or, where ``ci_open`` says so, a bound (the true limit lies below the lower /
    above the upper one). ``log_mcse`` are the Monte Carlo SEs (log scale) of the
    estimate and of the limits (None where open).
    """

    factor: str
    hr: float
    hr_open: str | None
    ci: tuple[float, float]
    ci_open: tuple[bool, bool]
    log_mcse: tuple[float | None, float | None, float | None]
    method: str
    source: str

    @property
    def text(self) -> str:
        """``4.05 (<1.16 to >33.1)``: open limits as bounds.

        >>> Reestimate("afp", 1.28, "below", (1.28, 1.5), (True, False), (None,) * 3,
        ...            "", "").text
        '<1.28 (<1.28 to 1.50)'
        """
        low = hr_text(self.ci[0], "below" if self.ci_open[0] else None)
        high = hr_text(self.ci[1], "above" if self.ci_open[1] else None)
        return f"{hr_text(self.hr, self.hr_open)} ({low} to {high})"

    def to_dict(self) -> dict[str, Any]:
        return {"hr": _sig(self.hr), "hr_open": self.hr_open,
                "ci": [_sig(self.ci[0]), _sig(self.ci[1])], "ci_open": list(self.ci_open),
                "text": self.text, "log_mcse": {"hr": self.log_mcse[0],
                                                "ci": list(self.log_mcse[1:])},
                "method": self.method, "source": self.source}


@dataclass(frozen=True)
class CutoffRange:
    """Where the Youden cut-off falls in 95% of simulated studies like this one."""

    low: float
    high: float
    median: float
    low_mcse: float | None
    high_mcse: float | None
    replicates: int
    scenario: str

    def contains(self, pni: Decimal) -> bool:
        """Whether ``pni`` lies within the range (limits included).

        >>> CutoffRange(36.9, 51.9, 46.8, 0.4, 0.3, 4000, "tog2025").contains(Decimal("40.5"))
        True
        """
        return Decimal(str(self.low)) <= pni <= Decimal(str(self.high))


@dataclass(frozen=True)
class FalseFindings:
    """The share of simulated studies without a PNI effect whose procedure still calls
    PNI an independent predictor."""

    share: float
    mcse: float
    replicates: int
    scenario: str

    @property
    def line(self) -> str:
        """One sentence for the bedside.

        >>> print(FalseFindings(0.121, 0.007, 4000, "tog2025-null-pni").line)
        Where PNI has no effect at all, the paper's procedure still calls it an \
independent predictor in 12.1% of simulated studies like this one (Monte Carlo SE 0.7%).
        """
        return (f"Where PNI has no effect at all, the paper's procedure still calls it an "
                f"independent predictor in {100 * self.share:.1f}% of simulated studies "
                f"like this one (Monte Carlo SE {100 * self.mcse:.1f}%).")


@dataclass(frozen=True)
class CombinedReestimate:
    """The re-estimated relative hazard of several factors (see
    :func:`combined_reestimate`); ``hr_open`` ``undetermined`` when the factors' open
    estimates point both ways."""

    hr: float
    hr_open: str | None
    ci: tuple[float, float]
    ci_open: tuple[bool, bool]
    factors: tuple[str, ...]
    method: str
    source: str

    @property
    def text(self) -> str:
        if self.hr_open == "undetermined":
            point = "not determined"
        else:
            point = hr_text(self.hr, self.hr_open)
        low = hr_text(self.ci[0], "below" if self.ci_open[0] else None)
        high = hr_text(self.ci[1], "above" if self.ci_open[1] else None)
        return f"{point} ({low} to {high})"

    def to_dict(self) -> dict[str, Any]:
        return {"value": _sig(self.hr), "value_open": self.hr_open,
                "ci": [_sig(self.ci[0]), _sig(self.ci[1])], "ci_open": list(self.ci_open),
                "text": self.text, "factors": list(self.factors), "method": self.method,
                "source": self.source}


@dataclass(frozen=True)
class Evidence:
    """The checked content of the data file (``document`` is the whole file, for the
    evidence page)."""

    label: str
    assumptions: str
    combination: str
    reestimates: Mapping[str, Reestimate]
    cutoff: CutoffRange
    false_findings: FalseFindings
    provenance: Mapping[str, Any]
    document: Mapping[str, Any]

    @property
    def source(self) -> str:
        """Where the numbers come from, in one line."""
        return next(iter(self.reestimates.values())).source


def _sig(x: float, digits: int = 3) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def _reestimate(factor: str, result: Mapping[str, Any], method: str, source: str
                ) -> Reestimate:
    where = f"families.published.factors.{factor}.{HEADLINE_BELT}"
    est = _object(result.get("estimate"), f"{where}.estimate")
    ci = _object(result.get("interval"), f"{where}.interval")
    side = est.get("open")
    if side not in (None, "below", "above"):
        raise _fail(f"{where}.estimate.open", "null, 'below' or 'above'")
    hr = _number(est, "bound_hr" if side else "hr", f"{where}.estimate")
    limits = [_finite(v, f"{where}.interval.hr") for v in _pair(ci, "hr", f"{where}.interval")]
    opens = _pair(ci, "open", f"{where}.interval")
    if not all(isinstance(v, bool) for v in opens):
        raise _fail(f"{where}.interval.open", "two booleans")
    if not 0 < limits[0] <= limits[1] or hr <= 0:
        raise _fail(f"{where}.interval.hr", "positive and ordered (lower <= upper)")
    mcse = ci.get("mcse_log_hr") or [None, None]
    return Reestimate(factor, hr, side, (limits[0], limits[1]), (opens[0], opens[1]),
                      (_optional_number(est, "mcse_log_hr", f"{where}.estimate"),
                       _finite(mcse[0], "") if mcse[0] is not None else None,
                       _finite(mcse[1], "") if mcse[1] is not None else None),
                      method, source)


def parse(document: object) -> Evidence:
    """Check the data file's content and take out what the bedside shows.

    Raises
    ------
    EvidenceFileError
        Naming the first field that is missing or wrong.
    """
    doc = _object(document, "the file")
    if doc.get("format") != FORMAT:
        raise _fail("format", repr(FORMAT))
    label, assumptions, combination = (_text(doc, k) for k in ("label", "assumptions",
                                                               "combination"))
    provenance = _object(doc.get("provenance"), "provenance")
    for key in ("command", "date", "package_version"):
        _text(provenance, key, "provenance.")
    for key in ("seed", "replicates_total", "methods_version", "generator_version"):
        _whole(provenance, key, "provenance")
    families = _object(doc.get("families"), "families")
    main = _object(families.get(_text(doc, "main_family")), "families.<main_family>")
    factors = _object(main.get("factors"), "families.<main_family>.factors")
    source = (f"hcc-prognosis {provenance['package_version']} evidence, seed "
              f"{provenance['seed']}, {provenance['replicates_total']:,} simulated studies "
              f"({provenance['date'][:10]}); calculator/{DATA_FILE}")
    method = ("median-unbiased estimate and 95% Neyman confidence interval from the "
              "simulated distribution of the estimate among studies that reported the "
              "factor as the paper did (univariable screen, multivariable p < .05, adverse)")
    reestimates = {}
    for factor in INDEPENDENT_FACTORS:
        entry = _object(factors.get(factor), f"families.published.factors.{factor}")
        result = _object(entry.get(HEADLINE_BELT),
                         f"families.published.factors.{factor}.{HEADLINE_BELT}")
        reestimates[factor] = _reestimate(factor, result, method, source)
    cut = _object(main.get("cutoff"), "families.published.cutoff")
    cutoff = CutoffRange(_number(cut, "q025", "cutoff"), _number(cut, "q975", "cutoff"),
                         _number(cut, "median", "cutoff"),
                         _optional_number(cut, "q025_mcse", "cutoff"),
                         _optional_number(cut, "q975_mcse", "cutoff"),
                         _whole(cut, "replicates", "cutoff"), _text(cut, "scenario", "cutoff."))
    if not cutoff.low < cutoff.median < cutoff.high:
        raise _fail("cutoff", "ordered: q025 < median < q975")
    ff = _object(main.get("false_findings"), "families.published.false_findings")
    false = FalseFindings(_number(ff, "share", "false_findings"),
                          _number(ff, "mcse", "false_findings"),
                          _whole(ff, "replicates", "false_findings"),
                          _text(ff, "scenario", "false_findings."))
    if not 0 <= false.share <= 1:
        raise _fail("false_findings.share", "a share between 0 and 1")
    return Evidence(label, assumptions, combination, reestimates, cutoff, false,
                    provenance, doc)


@lru_cache(maxsize=1)
def load() -> Evidence:
    """The shipped evidence, read once (package data, no numpy)."""
    try:
        text = files("calculator").joinpath(DATA_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as error:
        raise EvidenceFileError(f"{DATA_FILE} cannot be read ({error}); reinstall the "
                                "package or run 'hcc-prognosis evidence --out "
                                f"calculator/{DATA_FILE}'") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise EvidenceFileError(f"{DATA_FILE} is not valid JSON ({error})") from None
    return parse(document)


def reestimate(factor: str) -> Reestimate:
    """The re-estimate of one independent factor (``afp``, ``extrahepatic_spread``,
    ``pni``)."""
    return load().reestimates[factor]


def near_cutoff(pni: Decimal) -> bool:
    """Whether ``pni`` lies within the 95% range of the data-driven cut-off."""
    return load().cutoff.contains(pni)


def combine(parts: Sequence[Reestimate], method: str, source: str) -> CombinedReestimate:
    """The relative hazard of several factors together, from their re-estimates.

    .. math:: \\widehat{\\mathrm{RH}} = \\prod_k \\hat h_k, \\qquad
              \\log \\mathrm{lower} = \\sum_k \\log \\hat h_k -
              \\sqrt{\\textstyle\\sum_k (\\log \\hat h_k - \\log l_k)^2}

    and the upper limit likewise with :math:`\\log u_k - \\log \\hat h_k`: each side's
    log-scale distances added in quadrature, as if the factors were independent (the
    simulation, like the paper, gives no covariance). Where a factor's estimate or limit
    is open, its bound stands in and the combination is open on that side too. One
    factor alone keeps its own interval.

    >>> a = Reestimate("afp", 2.0, None, (1.0, 4.0), (False, False), (None,) * 3, "", "")
    >>> both = combine([a, a], "m", "s")
    >>> round(both.hr, 3), [round(v, 3) for v in both.ci]
    (4.0, [1.501, 10.661])
    """
    names = tuple(p.factor for p in parts)
    if len(parts) == 1:
        only = parts[0]
        return CombinedReestimate(only.hr, only.hr_open, only.ci, only.ci_open, names,
                                  method, source)
    log_hr = sum(math.log(p.hr) for p in parts)
    down = math.sqrt(sum((math.log(p.hr) - math.log(p.ci[0])) ** 2 for p in parts))
    up = math.sqrt(sum((math.log(p.ci[1]) - math.log(p.hr)) ** 2 for p in parts))
    sides = {p.hr_open for p in parts if p.hr_open}
    hr_open = None if not sides else sides.pop() if len(sides) == 1 else "undetermined"
    return CombinedReestimate(
        math.exp(log_hr), hr_open, (math.exp(log_hr - down), math.exp(log_hr + up)),
        (any(p.ci_open[0] for p in parts), any(p.ci_open[1] for p in parts)),
        names, method, source)


def combined_reestimate(factors: Sequence[str]) -> CombinedReestimate | None:
    """The re-estimated relative hazard of ``factors`` together (None for none), by
    :func:`combine`."""
    if not factors:
        return None
    shipped = load()
    parts = [shipped.reestimates[f] for f in factors]
    return combine(parts, shipped.combination, parts[0].source)
