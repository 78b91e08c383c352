"""The evidence section of a study report: belts, re-estimates, calibration, sensitivity.

For a study file written by ``hcc-prognosis evidence``, the report (``hcc-prognosis
report``) adds this section: each factor's two belts with the published estimate marked
and the interval read off them, the re-estimates of every family with their Monte Carlo
SEs, the combined relative hazard of the all-adverse patient, the calibration check on
held-out replicates, the Youden cut-off's range and the share of false PNI findings. The
numbers are those of the data file (:func:`simulation.evidence.datafile.belt_result`),
computed from the same study by :func:`simulation.evidence.results.read_evidence`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from calculator.evidence import Reestimate, combine
from calculator.formatting import number
from calculator.labels import factor_name
from calculator.published import INDEPENDENT_FACTORS, table4_row
from simulation.evidence.belts import BELT_TITLES, BELTS
from simulation.evidence.calibration import NOMINAL
from simulation.evidence.datafile import ASSUMPTIONS, COMBINATION, LABEL, belt_result
from simulation.evidence.design import FAMILIES, MAIN_FAMILY, family
from simulation.evidence.results import Evidence
from simulation.reports import figures, html
from simulation.reports.html import Row, Section, text

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: Line styles of a belt's three quantile curves (greyscale-safe: dashes, not hue).
CURVE_STYLES = ({"linestyle": "--", "linewidth": 1.2}, {"linestyle": "-", "linewidth": 1.8},
                {"linestyle": "--", "linewidth": 1.2})


def _hr_axis(ax: Any, axis: str, low: float, high: float) -> None:
    """Label a log-HR axis in hazard ratios (1-2-5 ticks)."""
    ticks = [t for e in range(-2, 3) for t in (1 * 10.0 ** e, 2 * 10.0 ** e, 5 * 10.0 ** e)
             if low <= math.log(t) <= high]
    set_ticks = ax.set_xticks if axis == "x" else ax.set_yticks
    set_labels = ax.set_xticklabels if axis == "x" else ax.set_yticklabels
    set_ticks([math.log(t) for t in ticks])
    set_labels([f"{t:g}" for t in ticks])


def belts_figure(evidence: Evidence, fam: str = MAIN_FAMILY) -> Figure | None:
    """Each factor's two belts: smoothed quantile curves, raw medians, the published
    estimate, the interval read off it (shaded) and the re-estimate (square)."""
    # Deferred: matplotlib loads only when a figure is drawn, never for the maths.
    import matplotlib

    factors = [f for f in family(fam).factors if (fam, f, BELTS[0]) in evidence.factor_belts]
    if not factors:
        return None
    with matplotlib.rc_context(figures._RC):
        fig = figures._new_figure(7.2, 2.9 * len(factors) + 0.5)
        axes = fig.subplots(len(factors), 2, squeeze=False)
        for r, factor in enumerate(factors):
            for c, belt in enumerate(BELTS):
                fb = evidence.factor_belts[(fam, factor, belt)]
                ax, b, inv = axes[r, c], fb.belt, fb.inverted
                low, high = inv.lower[0], inv.upper[0]
                if np.isfinite(low) and np.isfinite(high):
                    ax.axvspan(low, high, color="0.88", zorder=0)
                for j, style in enumerate(CURVE_STYLES):
                    ax.plot(b.fine, b.smooth[:, j], color="black", **style)
                ax.plot(b.theta, b.raw[:, 1], linestyle="none", marker="o", markersize=2.5,
                        markerfacecolor="white", color="0.45")
                ax.axhline(fb.observed, color="black", linewidth=1, linestyle=":")
                ax.text(b.theta[-1], fb.observed, f"published {math.exp(fb.observed):.2f} ",
                        ha="right", va="bottom", fontsize=8)
                if np.isfinite(inv.estimate[0]):
                    ax.plot([inv.estimate[0]], [fb.observed], marker="s", markersize=6,
                            markerfacecolor="white", color="black")
                for value, is_open, mark in ((low, inv.lower_open[0], "<"),
                                             (high, inv.upper_open[0], ">")):
                    if np.isfinite(value):
                        ax.axvline(value, color="black", linewidth=0.8, linestyle=(0, (1, 2)))
                        label = f"{mark if is_open else ''}{math.exp(value):.2f}"
                        inside = "left" if mark == "<" else "right"  # inside the band
                        ax.text(value, 0.97, f" {label} ", transform=ax.get_xaxis_transform(),
                                ha=inside, va="top", fontsize=7.5)
                x_lo, x_hi = b.theta[0], b.theta[-1]
                y = np.concatenate([b.smooth[np.isfinite(b.smooth)], [fb.observed]])
                ax.set_xlim(x_lo, x_hi)
                ax.set_ylim(y.min() - 0.15, y.max() + 0.15)
                _hr_axis(ax, "x", x_lo, x_hi)
                _hr_axis(ax, "y", y.min() - 0.15, y.max() + 0.15)
                ax.set_title(f"{factor_name(factor)}: {belt.replace('_', ' ')}", loc="left",
                             fontsize=9)
                ax.set_xlabel("True hazard ratio (log scale)")
                ax.set_ylabel("Estimated hazard ratio")
        fig.suptitle(f"Confidence belts, {family(fam).title}: 2.5%, 50% (solid), 97.5% of the "
                     "simulated estimate\nshaded: the 95% interval at the published estimate "
                     "(dotted); square: the re-estimate", x=0.01, ha="left", fontsize=9)
    return fig


def calibration_figure(evidence: Evidence, fam: str = MAIN_FAMILY) -> Figure | None:
    """Coverage (top) and the share of re-estimates below the truth (bottom) on
    held-out replicates, per true HR, ± 1.96 Monte Carlo SE; one marker per belt."""
    # Deferred: matplotlib loads only when a figure is drawn, never for the maths.
    import matplotlib

    factors = [f for f in family(fam).factors if (fam, f, BELTS[0]) in evidence.factor_belts]
    if not factors:
        return None
    with matplotlib.rc_context(figures._RC):
        fig = figures._new_figure(7.2, 4.6)
        axes = fig.subplots(2, len(factors), squeeze=False, sharey="row")
        for c, factor in enumerate(factors):
            for k, belt in enumerate(BELTS):
                check = evidence.factor_belts[(fam, factor, belt)].calibration
                per = check.per_point()
                keep = check.held_out > 0
                x = check.theta[keep] + (k - 0.5) * 0.012
                for r, (field, target) in enumerate((("coverage", NOMINAL), ("below", 0.5))):
                    ax = axes[r, c]
                    ax.errorbar(x, per[field][keep], yerr=1.96 * per[f"{field}_mcse"][keep],
                                linestyle="none", marker=figures.style(k)["marker"],
                                markersize=3, color="black", ecolor="0.6", elinewidth=0.6,
                                markerfacecolor=figures.MARKER_FILLS[k],
                                label=BELT_TITLES[belt].split(" (")[0])
                    ax.axhline(target, color=figures.REFERENCE_COLOUR, linestyle="--",
                               linewidth=1)
            for r in range(2):
                _hr_axis(axes[r, c], "x", check.theta[0], check.theta[-1])
                axes[r, c].set_xlabel("True hazard ratio (log scale)")
            axes[0, c].set_title(factor_name(factor), loc="left", fontsize=9)
        axes[0, 0].set_ylabel("Coverage of 95% intervals")
        axes[1, 0].set_ylabel("Share below the truth")
        axes[0, 0].set_ylim(0.80, 1.0)
        axes[1, 0].set_ylim(0.3, 0.7)
        axes[0, 0].legend(loc="lower left", frameon=False)
        fig.suptitle("Calibration on held-out replicates (two-fold cross-fitting)\nbars "
                     "± 1.96 Monte Carlo SE; dashed: the targets 95% and 50%", x=0.01,
                     ha="left", fontsize=9)
    return fig


def evidence_figures(evidence: Evidence) -> dict[str, bytes | None]:
    """PNG bytes of the evidence figures."""
    pngs: dict[str, bytes | None] = {}
    for name, draw in (("belts", belts_figure), ("calibration", calibration_figure)):
        fig = draw(evidence)
        pngs[f"evidence-{name}"] = None if fig is None else figures.to_png(fig)
    return pngs


def _belt_text(result: Mapping[str, Any]) -> str:
    est, ci = result["estimate"], result["interval"]
    mark = {"below": "<", "above": ">"}
    point = (f"{mark[est['open']]}{est['bound_hr']:.2f}" if est["open"]
             else f"{est['hr']:.2f}")
    if ci["hr"][0] is None:
        return f"{point} (no interval)"
    low = ("<" if ci["open"][0] else "") + f"{ci['hr'][0]:.2f}"
    high = (">" if ci["open"][1] else "") + f"{ci['hr'][1]:.2f}"
    return f"{point} ({low} to {high})"


def _mcse(result: Mapping[str, Any]) -> str:
    values = [result["estimate"]["mcse_log_hr"], *result["interval"]["mcse_log_hr"]]
    return ", ".join(number(v, ".3f", "open") for v in values)


def _reestimate(factor: str, result: Mapping[str, Any]) -> Reestimate:
    est, ci = result["estimate"], result["interval"]
    return Reestimate(factor, est["bound_hr"] if est["open"] else est["hr"], est["open"],
                      (ci["hr"][0], ci["hr"][1]), (ci["open"][0], ci["open"][1]),
                      (None, None, None), COMBINATION, "")


def reestimate_rows(evidence: Evidence) -> list[Row]:
    """Per family and factor: published HR, both belts' re-estimates and MCSEs, whether
    the curves are monotone, and the calibration's coverage."""
    rows: list[Row] = []
    for fam in FAMILIES:
        if fam.name not in evidence.families:
            continue
        rows.append(Row(f"{fam.title.capitalize()}", group=True))
        for factor in fam.factors:
            published = table4_row(factor).adverse()
            for belt in BELTS:
                fb = evidence.factor_belts.get((fam.name, factor, belt))
                if fb is None:
                    continue
                r = belt_result(fb)
                cal = r["calibration"]
                rows.append(Row(f"{factor_name(factor)}, {belt.replace('_', ' ')}", [
                    text(f"{published.hr:.2f} ({published.lower:.2f}-{published.upper:.2f})"),
                    text(_belt_text(r)), text(_mcse(r)),
                    text("yes" if r["monotone"] else "no: " + "; ".join(
                        f"{f['level']:g} falls {f['by']:.2f} over {f['from']:.2f} to "
                        f"{f['to']:.2f}" for f in r["falls"])),
                    html.number(cal["coverage"], ".3f",
                                key=f"{fam.name}|{factor}|{belt}|coverage"),
                    html.number(cal["coverage_mcse"], ".3f"),
                    html.number(cal["below"], ".3f")], indent=True))
    return rows


def combined_rows(evidence: Evidence) -> list[Row]:
    """The all-adverse patient's relative hazard, published and re-estimated, per family
    that re-draws all three factors."""
    published = math.prod(table4_row(f).adverse().hr for f in INDEPENDENT_FACTORS)
    rows = [Row("published (Table 4)", [text(f"{published:.1f}"), text("")])]
    for fam in FAMILIES:
        for belt in BELTS:
            keys = [(fam.name, f, belt) for f in INDEPENDENT_FACTORS]
            if not all(k in evidence.factor_belts for k in keys):
                continue
            parts = [_reestimate(k[1], belt_result(evidence.factor_belts[k])) for k in keys]
            both = combine(parts, COMBINATION, "")
            rows.append(Row(f"{fam.title}, {belt.replace('_', ' ')}",
                            [text(both.text), text(both.hr_open or "")]))
    return rows


def anchor_rows(evidence: Evidence) -> list[Row]:
    """Per family: the Youden cut-off's 95% range and the share of false PNI findings."""
    rows = []
    for fam in FAMILIES:
        cut, ff = evidence.cutoffs.get(fam.name), evidence.false_findings.get(fam.name)
        if cut is None and ff is None:
            continue
        cells = [text("-")] * 4
        if cut is not None:
            (q1, s1), (q2, s2) = cut.quantiles["q025"], cut.quantiles["q975"]
            cells[:2] = [text(f"{number(q1, '.1f')} ({number(s1, '.2f')}) to "
                              f"{number(q2, '.1f')} ({number(s2, '.2f')})"),
                         text(f"{cut.scenario}, {cut.replicates:,}")]
        if ff is not None:
            cells[2:] = [text(f"{100 * (ff.share or 0):.1f}% ({100 * (ff.mcse or 0):.1f}%)"),
                         text(f"{ff.scenario}, {ff.replicates:,}")]
        rows.append(Row(fam.title, cells))
    return rows


def evidence_sections(evidence: Evidence, pngs: Mapping[str, bytes | None]) -> list[Section]:
    """The evidence part of the report."""
    def fig(name: str, alt: str, caption: str) -> str:
        png = pngs.get(name)
        return html.figure(png, figure_id=name, alt=alt, caption=caption) if png else ""

    intro = html.paragraph(
        f"Each published hazard ratio is {LABEL}. {ASSUMPTIONS} For every true log-HR of "
        "a grid, the paper's procedure ran on simulated studies; the 2.5%, 50% and 97.5% "
        "quantiles of the estimate form a confidence belt (Neyman 1937), smoothed across "
        "the grid by a spline whose smoothing is chosen by the unbiased risk estimate with "
        "the quantiles' Monte Carlo variances. The 95% interval is every true value whose "
        "band contains the published estimate, the re-estimate the true value whose median "
        "equals it. As published: among studies that reported the factor as the paper did "
        "(screen passed, multivariable p < .05, adverse); always fitted: the four-factor "
        "model in every study. Monte Carlo SEs (log scale) from 200 bootstrap resamples of "
        "the replicates; < or > marks a limit only bounded (open).")
    table = html.table("Re-estimated hazard ratios (95% CI), with Monte Carlo SEs (log "
                       "scale: estimate, lower, upper) and the calibration check",
                       ("Family / factor, belt", "Published HR", "Re-estimated HR (95% CI)",
                        "MCSE (log)", "Monotone", "Coverage", "MCSE", "Below truth"),
                       reestimate_rows(evidence), table_id="evidence-reestimates",
                       css_class="numeric")
    combined = html.table("Relative hazard of a patient with all three adverse factors",
                          ("Source", "Relative hazard (95% CI)", "Estimate open"),
                          combined_rows(evidence), table_id="evidence-combined",
                          note=COMBINATION)
    anchors = html.table("The Youden cut-off's 95% range (MCSE) and the share of studies "
                         "calling PNI independent when it has no effect (MCSE)",
                         ("Family", "Cut-off 95% range", "Scenario, replicates",
                          "False PNI findings", "Scenario, replicates"),
                         anchor_rows(evidence), table_id="evidence-anchors")
    why = html.definitions([(f.title, f.why) for f in FAMILIES if f.name in evidence.families])
    return [
        Section("evidence", "Evidence: the published hazard ratios re-estimated",
                intro + table + combined + why),
        Section("evidence-belts", "Evidence: the belts",
                fig("evidence-belts", "Confidence belts of each factor",
                    "Each panel: the simulated estimate's 2.5%, 50% (solid) and 97.5% "
                    "quantiles against the true hazard ratio; rings are the medians before "
                    "smoothing; the dotted line is the published estimate; the shaded band "
                    "is its 95% interval, the square the re-estimate.")),
        Section("evidence-cutoff", "Evidence: the cut-off and false findings", anchors),
        Section("evidence-calibration", "Evidence: calibration on held-out replicates",
                fig("evidence-calibration", "Coverage and median-unbiasedness per true HR",
                    "Each replicate re-estimated by the belt of the other half of the "
                    "replicates (by parity of its number); coverage should be near 95% and "
                    "the share below the truth near 50%.")),
    ]
