"""Design grids: the scenarios of a study as the cross product of values of its keys.

``hcc-prognosis simulate --scenario tog2025 --grid n=58,100,200 --grid
hazard_ratios.pni_low=1,2,4.17`` runs every combination of the values given, for every
``--scenario``, as the scenarios of one resumable study. A key is ``n`` (patients per
cohort) or a field of the scenario file, spelled as in the file
(``simulation/cohorts/scenario_files/tog2025-weaker-pni.toml``): :data:`FIELD_KEYS`, and
``hazard_ratios.<factor>``, ``log_hazard_ratios.<factor>`` and ``targets.<target>`` for
the keys of those tables. Values are separated by commas, so decimals take a point;
text values are those the file accepts (``calibrated``, ``step``, ``continuous``).

**Names.** Each point is a scenario named after its base scenario and its values,
``<base>+<key>=<value>``, with ``n`` first and the other keys in alphabetical order,
and each value in its shortest exact form (``2``, not ``2.0``), for example
``tog2025+n=100+hazard_ratios.pni_low=2``. The name uses only letters, digits and
``. _ - + =``, so it is a file name and a shell word as it is. It is stable: the same
values give the same name whatever the order of the ``--grid`` options, and since a
replicate's random stream is keyed by the scenario's name
(:mod:`simulation.study.seeds`), a point always draws the same cohorts, and
``hcc-prognosis replay --scenario NAME`` rebuilds them from the name alone
(:func:`point_from_name`). Points that differ only in ``n`` share one large-sample
reference (:attr:`StudyScenario.reference_name`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from calculator.errors import InputError
from calculator.formatting import plain
from calculator.number_entry import read_number
from simulation.cohorts.scenarios import (
    CALIBRATED,
    PNI_EFFECTS,
    TABLE_KEYS,
    Scenario,
    ScenarioError,
    with_fields,
)

#: Fewest patients per cohort of a study.
MIN_N = 10
#: Scenario-file fields a grid may vary (``name`` and ``description`` name a scenario).
FIELD_KEYS: tuple[str, ...] = ("pni_cutoff", "pni_effect", "accrual_months", "weibull_shape",
                               "followup_after_accrual_months", "ecog2_share")
#: Text values a grid accepts, by key (numbers otherwise).
TEXT_VALUES: dict[str, tuple[str, ...]] = {
    "pni_effect": PNI_EFFECTS, "weibull_shape": (CALIBRATED,),
    "followup_after_accrual_months": (CALIBRATED,)}
#: Separates a point's base name from its values, and its values from each other.
SEPARATOR = "+"

Value = int | float | str


def known_keys() -> str:
    """The keys a grid accepts, as an error message lists them."""
    tables = ", ".join(f"{table}.<{'factor' if table != 'targets' else 'target'}>"
                       for table in TABLE_KEYS)
    return (f"n, {', '.join(FIELD_KEYS)}, {tables} (factors: "
            f"{', '.join(TABLE_KEYS['hazard_ratios'])}; targets: "
            f"{', '.join(TABLE_KEYS['targets'])})")


def check_key(key: str) -> str:
    """``key`` if a grid accepts it; otherwise an :class:`InputError` listing the keys."""
    table, dot, entry = key.partition(".")
    if key == "n" or key in FIELD_KEYS or (dot and entry in TABLE_KEYS.get(table, ())):
        return key
    raise InputError("grid", key, None, known_keys(),
                     f"--grid: unknown key {key!r}; known: {known_keys()}",
                     "e.g. --grid n=58,100,200 --grid hazard_ratios.pni_low=1,2")


def sort_key(key: str) -> tuple[bool, str]:
    """Order of the keys in a name: ``n`` first, then alphabetical."""
    return (key != "n", key)


@dataclass(frozen=True)
class GridAxis:
    """One ``--grid KEY=V1,V2,...``: a key and its values in the order given."""

    key: str
    values: tuple[Value, ...]


def format_value(value: Value) -> str:
    """A value as a name writes it: its shortest exact decimal form, or the text.

    >>> format_value(2.0), format_value(0.25), format_value(100), format_value("calibrated")
    ('2', '0.25', '100', 'calibrated')
    """
    if isinstance(value, str):
        return value
    return plain(value)


def parse_value(key: str, text: str) -> Value:
    """One value of ``key`` as written on the command line.

    ``n`` is a whole number >= :data:`MIN_N`; text is kept where the key accepts it
    (:data:`TEXT_VALUES`); everything else is read as a plain decimal number
    (:func:`calculator.number_entry.read_number`). Ranges are checked when the value is
    applied to a scenario (:func:`apply`), by the scenario's own rules.
    """
    word = text.strip()
    texts = TEXT_VALUES.get(key, ())
    if word in texts or key == "pni_effect":
        return word
    label = f"--grid {key}"
    try:
        number = read_number(word, key, label).value
    except InputError:
        if not texts:
            raise
        allowed = f"a number or {' or '.join(repr(t) for t in texts)}"
        raise InputError(key, text, None, allowed,
                         f"--grid {key} must be {allowed}; got {text!r}") from None
    if key == "n":
        if number != number.to_integral_value() or number < MIN_N:
            raise InputError(key, text, None, f"a whole number >= {MIN_N}",
                             f"--grid n: patients per cohort must be a whole number >= "
                             f"{MIN_N}; got {text!r}")
        return int(number)
    return float(number)


def parse_grid(texts: Sequence[str]) -> tuple[GridAxis, ...]:
    """The axes of ``--grid KEY=V1,V2,...`` options (in name order: ``n`` first).

    Raises
    ------
    InputError
        An unknown key (the message lists the known ones), a key given twice, a value
        given twice, or a value that is not a number (or an accepted text).

    >>> [(a.key, a.values) for a in parse_grid(["hazard_ratios.pni_low=1,2", "n=58,100"])]
    [('n', (58, 100)), ('hazard_ratios.pni_low', (1.0, 2.0))]
    """
    axes: dict[str, GridAxis] = {}
    for text in texts:
        key, equals, values = text.partition("=")
        key = key.strip()
        if not equals or not values.strip():
            raise InputError("grid", text, None, "KEY=V1,V2,...",
                             f"--grid must be KEY=V1,V2,...; got {text!r}",
                             "e.g. --grid n=58,100,200")
        check_key(key)
        if key in axes:
            raise InputError("grid", text, None, "each key once",
                             f"--grid {key} is given twice; give all its values in one "
                             f"option, e.g. --grid {key}=V1,V2")
        parsed = tuple(parse_value(key, part) for part in values.split(","))
        shown = [format_value(v) for v in parsed]
        twice = sorted({v for v in shown if shown.count(v) > 1})
        if twice:
            raise InputError("grid", text, None, "distinct values",
                             f"--grid {key}: value {twice[0]} is given twice")
        axes[key] = GridAxis(key, parsed)
    return tuple(axes[key] for key in sorted(axes, key=sort_key))


@dataclass(frozen=True)
class StudyScenario:
    """A scenario of a study: its generating model, cohort size and grid values.

    Attributes
    ----------
    scenario : Scenario
        The generating model, named after the grid values (:func:`grid_name`).
    n : int
        Patients per cohort.
    base : str
        The scenario the point was made from (its own name outside a grid).
    grid : tuple of (key, value)
        The grid values that made it, in name order (empty outside a grid).
    """

    scenario: Scenario
    n: int
    base: str
    grid: tuple[tuple[str, Value], ...] = ()

    @property
    def name(self) -> str:
        """The scenario's name (the key of its random streams and its rows)."""
        return self.scenario.name

    @property
    def reference_name(self) -> str:
        """The name whose stream draws the large-sample reference cohort: the name
        without ``n``, so that points differing only in cohort size share it."""
        return grid_name(self.base, [(k, v) for k, v in self.grid if k != "n"])

    @classmethod
    def alone(cls, scenario: Scenario, n: int) -> StudyScenario:
        """A scenario outside any grid, with ``n`` patients per cohort."""
        return cls(scenario, int(n), scenario.name, ())


def grid_name(base: str, values: Sequence[tuple[str, Value]]) -> str:
    """``<base>+<key>=<value>...`` with the keys in name order (:func:`sort_key`).

    >>> grid_name("tog2025", [("hazard_ratios.pni_low", 2.0), ("n", 100)])
    'tog2025+n=100+hazard_ratios.pni_low=2'
    """
    ordered = sorted(values, key=lambda kv: sort_key(kv[0]))
    return SEPARATOR.join([base, *(f"{k}={format_value(v)}" for k, v in ordered)])


def apply(base: Scenario, values: Sequence[tuple[str, Value]], n: int) -> StudyScenario:
    """The point of ``base`` with the grid ``values`` (``n`` among them or given apart).

    Raises
    ------
    InputError
        A value the scenario does not accept, naming the key, the value and the range.
    """
    fields: dict[str, Any] = {"name": grid_name(base.name, values)}
    size = int(n)
    for key, value in values:
        if key == "n":
            size = int(value)
            continue
        table, dot, entry = key.partition(".")
        if dot:
            fields.setdefault(table, {})[entry] = value
        else:
            fields[key] = value
    try:
        scenario = with_fields(base, fields)
    except ScenarioError as error:
        shown = ", ".join(f"{k}={format_value(v)}" for k, v in values)
        raise InputError(error.field, error.value, error.unit, error.allowed,
                         f"--grid {shown} on scenario {base.name}: {error.message}",
                         error.hint) from None
    ordered = tuple(sorted(values, key=lambda kv: sort_key(kv[0])))
    return StudyScenario(scenario, size, base.name, ordered)


def expand(scenarios: Sequence[Scenario], axes: Sequence[GridAxis], n: int
           ) -> tuple[StudyScenario, ...]:
    """Every point of the grid for every scenario: scenario by scenario, then the cross
    product of the axes in name order (the last key varying fastest).

    Without axes, each scenario alone with ``n`` patients per cohort.
    """
    points = []
    for scenario in scenarios:
        if not axes:
            points.append(StudyScenario.alone(scenario, n))
            continue
        for combination in itertools.product(*(axis.values for axis in axes)):
            points.append(apply(scenario, list(zip((a.key for a in axes), combination,
                                                   strict=True)), n))
    return tuple(points)


def point_from_name(name: str, get_scenario: Callable[[str], Scenario], n: int
                    ) -> StudyScenario:
    """The point a grid name stands for (``tog2025+n=100+pni_cutoff=45``), rebuilt from
    its base scenario; a name without ``+`` is the scenario alone with ``n`` patients.

    >>> from simulation.cohorts.scenarios import get_scenario
    >>> point = point_from_name("tog2025+n=100+hazard_ratios.pni_low=2", get_scenario, 58)
    >>> point.n, round(point.scenario.effects["pni_low"], 4), point.name
    (100, 0.6931, 'tog2025+n=100+hazard_ratios.pni_low=2')
    """
    base, *parts = name.split(SEPARATOR)
    scenario = get_scenario(base)
    if not parts:
        return StudyScenario.alone(scenario, n)
    values = []
    for part in parts:
        key, equals, text = part.partition("=")
        if not equals:
            raise InputError("scenario", name, None, "<base>+<key>=<value>...",
                             f"{part!r} in scenario name {name!r} is not key=value")
        values.append((check_key(key), parse_value(key, text)))
    point = apply(scenario, values, n)
    if point.name != name:
        raise InputError("scenario", name, None, point.name,
                         f"scenario name {name!r} is not written as a grid names it; "
                         f"did you mean {point.name!r}?")
    return point
