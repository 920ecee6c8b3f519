"""The workflow's figures, drawn from the public tables (pandas data frames).

:func:`figure_plan` decides from a configuration which figures an experiment
gets; :func:`draw` renders one of them.  Every figure carries the experiment's
fixed parameters in its title and the varied ones in legends or axes.
ODE runs are lines; simulations are symbols at the mean over seeds with bars
of ± one standard deviation over seeds (the spread of single runs, not the
error of the mean).  Diverged ODE runs are drawn up to the α they reached,
dashed, and marked in the legend; simulation seeds that diverged are left out
of the means and counted in the legend.
"""
import itertools
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .sweep import alpha_grid  # noqa: E402

GRID_AXES = ("activation", "K", "M", "eta")
MAX_ORDER_PARAMETER_RUNS = 6
#: simulation symbols per curve (the recorded grid is thinned to about this many)
SYMBOLS_PER_CURVE = 30
CONDITION = ["student_activation", "teacher_activation", "K", "M", "eta"]
SIMULATION_GROUP = CONDITION + ["method", "N"]


def _activation_label(student, teacher):
    return student if student == teacher else f"{student} student / {teacher} teacher"


def varied_axes(experiment):
    """The grid axes of an experiment with more than one value."""
    return [axis for axis in GRID_AXES if len(experiment[axis]) > 1]


def figure_plan(config):
    """``[(experiment, kind), ...]`` of the figures the configuration calls for."""
    plan = []
    for name, experiment in config["experiments"].items():
        if "ode" not in experiment and "simulate" not in experiment:
            continue
        plan += [(name, "eps_g"), (name, "order_parameters")]
        if "ode" in experiment and len(experiment["eta"]) > 1:
            plan.append((name, "plateau_vs_eta"))
        if "ode" in experiment and len(varied_axes(experiment)) >= 2:
            plan.append((name, "plateau_heatmap"))
        if "simulate" in experiment and len(experiment["simulate"]["N"]) > 1 \
                and max(experiment["K"]) > 1:  # a perceptron has no plateau
            plan.append((name, "plateau_vs_N"))
    return plan


def _fixed_parameters(experiment, runs):
    parts = []
    for axis in GRID_AXES:
        values = experiment[axis]
        if len(values) == 1:
            value = values[0]
            if axis == "activation":
                value = value if isinstance(value, str) else _activation_label(**value)
            parts.append(f"{axis}={value}")
    init = experiment["init"]
    if "random" in init:
        parts.append(f"random init, Q(0)={init['random']['Q']}")
    else:
        parts.append(f"R(0)={_short(init['R'])}, Q(0)={_short(init['Q'])}")
    if experiment["noise"]:
        parts.append(f"noise={experiment['noise']}")
    if experiment["weight_decay"]:
        parts.append(f"weight decay={experiment['weight_decay']}")
    if "ode" in experiment:
        parts.append("ODE with η² terms" if experiment["ode"]["eta2"] else "ODE, small-η limit")
    if "simulate" in experiment:
        simulate = experiment["simulate"]
        parts.append(f"{simulate['method']} simulations, {simulate['seeds']} seeds"
                     + (f", N={simulate['N'][0]}" if len(simulate["N"]) == 1 else ""))
    return ", ".join(parts)


def _short(value):
    if isinstance(value, list):
        return "matrix"
    return f"{value:g}·I" if value else "0"


def _with_labels(runs):
    runs = runs.copy()
    runs["activation"] = [
        _activation_label(s, t) for s, t in zip(runs.student_activation, runs.teacher_activation)
    ]
    runs["K, M"] = [f"K={k}, M={m}" for k, m in zip(runs.K, runs.M)]
    return runs


def _log_alpha(experiment):
    alpha = experiment["alpha"]
    return isinstance(alpha, dict) and alpha.get("spacing") == "log"


def _alpha_axis(ax, experiment):
    """Logarithmic α axis (linear near 0) for log grids, linear otherwise."""
    if _log_alpha(experiment):
        smallest = min(a for a in alpha_grid(experiment["alpha"]) if a > 0)
        ax.set_xscale("symlog", linthresh=smallest)


def _thinned(alpha, count):
    """A mask keeping about ``count`` of the recorded α (evenly in index)."""
    alpha = np.asarray(alpha)
    keep = np.zeros(alpha.size, dtype=bool)
    keep[np.unique(np.linspace(0, alpha.size - 1, count).round().astype(int))] = True
    return keep


def _same_condition(frame, condition):
    """Rows of ``frame`` at the grid point (activations, K, M, η) of ``condition``."""
    return np.logical_and.reduce([frame[key] == condition[key] for key in CONDITION])


def seed_statistics(runs, values, column):
    """Mean and standard deviation over seeds of ``column`` of ``values`` (a
    table with run_id and alpha), per simulation group (condition, method, N)
    and α, over the seeds that did not diverge.  Columns: the group keys,
    ``alpha`` (plus ``name``, ``i``, ``j`` if present), ``mean``, ``std``,
    ``seeds``, ``diverged`` (and ``at_floor`` for ε_g: some seed's value is
    only a round-off bound)."""
    simulations = runs[runs.method != "ode"]
    data = values.merge(simulations, on="run_id")
    extra = [key for key in ("name", "i", "j") if key in values.columns]
    diverged = (simulations[simulations.status == "diverged"]
                .groupby(SIMULATION_GROUP).size().rename("diverged"))
    ok = data[data.status == "ok"]
    grouped = ok.groupby(SIMULATION_GROUP + extra + ["alpha"])
    stats = grouped[column].agg(mean="mean", std="std", seeds="count").reset_index()
    if "eps_g_at_floor" in ok.columns:  # a mean with values at the floor is only a bound
        stats["at_floor"] = grouped["eps_g_at_floor"].any().to_numpy()
    stats["N"] = stats["N"].astype(int)
    stats["std"] = stats["std"].fillna(0.0)
    stats = stats.merge(diverged.reset_index(), on=SIMULATION_GROUP, how="left")
    stats["diverged"] = stats["diverged"].fillna(0).astype(int)
    return stats


def _draw_simulations(ax, stats, color, marker, label, count=SYMBOLS_PER_CURVE):
    """Seed means ± one standard deviation, thinned to about ``count`` symbols."""
    stats = stats.sort_values("alpha")
    keep = _thinned(stats.alpha, count)
    shown = stats[keep]
    ax.errorbar(shown.alpha, shown["mean"], yerr=shown["std"], color=color, marker=marker,
                markersize=3.5, linestyle="none", elinewidth=0.7, capsize=1.5, label=label)


def _simulation_label(row):
    diverged = f", {row.diverged} diverged" if row.diverged else ""
    return f"η={row.eta:g}, N={row.N} ({row.seeds} seeds{diverged})"


def _save(figure, stem):
    figure.savefig(f"{stem}.png", dpi=130, bbox_inches="tight")
    figure.savefig(f"{stem}.pdf", bbox_inches="tight")
    plt.close(figure)


MARKERS = "osD^v<>ph*"


def eps_g_figure(name, experiment, runs, trajectories, stem):
    """ε_g(α): ODE lines and simulation symbols (marker by N), panels by
    activation (rows) and K, M (columns), colour by η."""
    runs = _with_labels(runs[runs.experiment == name])
    simulated = _with_labels(seed_statistics(runs, trajectories, "eps_g"))
    simulated = simulated[~simulated.at_floor]
    runs_ode = runs[runs.method == "ode"]
    data = trajectories.merge(runs_ode, on="run_id")
    rows = sorted(set(runs.activation))
    cols = sorted(set(runs["K, M"]))
    figure, axes = plt.subplots(len(rows), len(cols), squeeze=False, sharex=True,
                                figsize=(max(7.0, 4.2 * len(cols)), max(4.5, 3.2 * len(rows))))
    etas = sorted(runs.eta.unique())
    palette = dict(zip(etas, sns.color_palette("viridis", len(etas))))
    sizes = sorted(simulated.N.unique())
    markers = dict(zip(sizes, MARKERS))
    by_size = len(etas) == 1 and len(sizes) > 1  # then colour tells N apart, ODE in black
    size_palette = dict(zip(sizes, sns.color_palette("flare", len(sizes))))
    for r, activation in enumerate(rows):
        for c, km in enumerate(cols):
            ax = axes[r, c]
            panel = data[(data.activation == activation) & (data["K, M"] == km)]
            symbols = simulated[(simulated.activation == activation) & (simulated["K, M"] == km)]
            curves = symbols.groupby(["eta", "N"])
            for _, group in curves:
                row = group.iloc[0]
                _draw_simulations(ax, group, size_palette[row.N] if by_size else palette[row.eta],
                                  markers[row.N], _simulation_label(row),
                                  max(12, SYMBOLS_PER_CURVE // max(1, curves.ngroups)))
            lost = runs[(runs.method != "ode") & (runs.activation == activation)
                        & (runs["K, M"] == km)].groupby(["eta", "N"]).status
            for (eta, size), statuses in lost:
                if (statuses == "diverged").all():  # no seed left to draw
                    ax.plot([], [], marker="x", linestyle="none", color=palette[eta],
                            label=f"η={eta:g}, N={int(size)}: all {len(statuses)} seeds diverged")
            for _, curve in sorted(panel.groupby("run_id"), key=lambda item: item[1].eta.iloc[0]):
                row = curve.iloc[0]
                resolved = curve.eps_g.where(~curve.eps_g_at_floor)  # NaN breaks the line
                diverged = row.status == "diverged"
                ax.plot(curve.alpha, resolved, color="black" if by_size else palette[row.eta],
                        linestyle="--" if diverged else "-",
                        label=f"ODE, η={row.eta:g}" + (" (diverged)" if diverged else ""))
            ax.set_yscale("log")
            _alpha_axis(ax, experiment)
            ax.set_title(f"{activation}, {km}", fontsize=9)
            if r == len(rows) - 1:
                ax.set_xlabel("α")
            ax.set_ylabel("ε_g")
            ax.legend(fontsize=7)
    figure.suptitle(f"{name}: generalisation error — {_fixed_parameters(experiment, runs)}\n"
                    "lines: ODE (stop where ε_g reaches its numerical floor; dashed: diverged); "
                    "symbols: simulations, mean ± s.d. over seeds (left out where a seed is at "
                    "its round-off floor)", fontsize=9)
    figure.tight_layout()
    _save(figure, stem)


MAX_ALIGNED_K = 6


def students_aligned(order_parameters, run_ids):
    """The order parameters with each listed run's students relabelled so that
    student n is the one that ends up closest to teacher n: the permutation σ
    maximising Σ_n R_{σ(n) n} at the last recorded α (students beyond M keep
    their order; K > MAX_ALIGNED_K is left alone).  Which student specialises
    on which teacher is decided by noise in a simulation, so averaging seeds
    without this mixes the permuted solutions."""
    aligned = []
    for run_id, run in order_parameters.groupby("run_id"):
        if run_id in run_ids:
            last = run[(run.alpha == run.alpha.max()) & (run.name == "R")]
            K, M = int(last.i.max()), int(last.j.max())
            if 1 < K <= MAX_ALIGNED_K:
                R = np.zeros((K, M))
                R[last.i - 1, last.j - 1] = last.value
                best = max(itertools.permutations(range(K)),
                           key=lambda order: sum(R[order[n], n] for n in range(min(K, M))))
                label = np.empty(K + 1, dtype=int)
                label[np.array(best) + 1] = np.arange(1, K + 1)
                run = run.copy()
                students = run.name.isin(["R", "Q"])
                run.loc[students, "i"] = label[run.i[students]]
                both = run.name == "Q"
                run.loc[both, "j"] = label[run.j[both]]
        aligned.append(run)
    return pd.concat(aligned) if aligned else order_parameters


def order_parameter_figure(name, experiment, runs, order_parameters, stem):
    """R_in(α) and Q_ik(α) for up to six grid points of the experiment: ODE
    lines, and symbols for the simulations at the largest N (mean ± s.d. over
    seeds, students aligned with :func:`students_aligned`)."""
    runs = _with_labels(runs[runs.experiment == name])
    values = order_parameters[order_parameters.name.isin(["R", "Q"])
                              & order_parameters.run_id.isin(runs.run_id)]
    values = students_aligned(values, set(runs.run_id[runs.method != "ode"]))
    simulated = seed_statistics(runs, values, "value")
    largest_N = simulated.groupby(CONDITION)["N"].transform("max")
    simulated = simulated[simulated.N == largest_N]
    conditions = (runs.drop_duplicates(CONDITION).sort_values(["activation", "K", "M", "eta"])
                  .head(MAX_ORDER_PARAMETER_RUNS))
    figure, axes = plt.subplots(len(conditions), 2, squeeze=False,
                                figsize=(9, 2.8 * len(conditions)))
    for r, (_, condition) in enumerate(conditions.iterrows()):
        ode = runs[_same_condition(runs, condition) & (runs.method == "ode")]
        mine = values[values.run_id.isin(ode.run_id)]
        sims = simulated[_same_condition(simulated, condition)]
        title = f"{condition.activation}, {condition['K, M']}, η={condition.eta:g}"
        if len(ode) and (ode.status == "diverged").any():
            title += " (ODE diverged)"
        if len(sims):
            title += f"; symbols: N={sims.N.iloc[0]}, {sims.seeds.min()} seeds"
        for c, symbol in enumerate("RQ"):
            ax = axes[r, c]
            lines = mine[mine.name == symbol]
            points = sims[sims.name == symbol]
            if symbol == "Q":
                lines, points = lines[lines.i <= lines.j], points[points.i <= points.j]
            elements = sorted(set(zip(lines.i, lines.j)) | set(zip(points.i, points.j)))
            colors = dict(zip(elements, sns.color_palette("tab10", len(elements))))
            for (i, j), curve in lines.groupby(["i", "j"]):
                ax.plot(curve.alpha, curve.value, color=colors[i, j], label=f"{symbol}{i}{j}",
                        linestyle="-" if i == j else "--")
            for (i, j), group in points.groupby(["i", "j"]):
                _draw_simulations(ax, group, colors[i, j], "o",
                                  None if len(lines) else f"{symbol}{i}{j}")
            _alpha_axis(ax, experiment)
            ax.set_xlabel("α")
            ax.set_ylabel(symbol)
            ax.set_title(title, fontsize=8)
            ax.legend(fontsize=7, ncol=2)
    aligned = "; simulations: students relabelled per seed to the teacher they specialise on" \
        if (runs.method != "ode").any() and runs.K.max() > 1 else ""
    figure.suptitle(textwrap.fill(f"{name}: order parameters — "
                                  f"{_fixed_parameters(experiment, runs)}{aligned}", 130),
                    fontsize=9)
    figure.tight_layout()
    _save(figure, stem)


def plateau_vs_eta_figure(name, experiment, runs, plateaus, stem):
    """Plateau length against η per activation (and K, M), ODE runs with a plateau."""
    runs = _with_labels(runs[(runs.experiment == name) & (runs.method == "ode")])
    data = plateaus.merge(runs, on="run_id")
    found = data[data.has_plateau]
    figure, ax = plt.subplots(figsize=(5.5, 4))
    style = "K, M" if data["K, M"].nunique() > 1 else None
    if len(found):
        sns.lineplot(data=found, x="eta", y="plateau_length", hue="activation", style=style,
                     marker="o", ax=ax)
        ax.set_xscale("log")
        ax.set_yscale("log")
    missing = len(data) - len(found)
    ax.set_xlabel("η")
    ax.set_ylabel("plateau length (α)")
    note = f"; {missing} run(s) without plateau not shown" if missing else ""
    ax.set_title(f"{name}: plateau length{note}\n{_fixed_parameters(experiment, runs)}", fontsize=8)
    figure.tight_layout()
    _save(figure, stem)


def plateau_heatmap(name, experiment, runs, plateaus, stem):
    """Plateau length over the first two varied grid axes (panels for the others)."""
    runs = _with_labels(runs[(runs.experiment == name) & (runs.method == "ode")])
    data = plateaus.merge(runs, on="run_id")
    axes_varied = varied_axes(experiment)
    x, y = axes_varied[0], axes_varied[1]
    rest = axes_varied[2:]
    groups = list(data.groupby(rest)) if rest else [((), data)]
    figure, axes = plt.subplots(1, len(groups), squeeze=False, figsize=(5 * len(groups), 4))
    for ax, (key, part) in zip(axes[0], groups):
        table = part.pivot_table(index=y, columns=x, values="plateau_length", aggfunc="mean")
        sns.heatmap(table, annot=True, fmt=".3g", cmap="magma_r", ax=ax,
                    cbar_kws={"label": "plateau length (α)"})
        ax.set_title(", ".join(f"{a}={v}" for a, v in zip(rest, np.atleast_1d(key))) or name,
                     fontsize=9)
    figure.suptitle(f"{name}: plateau length (blank: no plateau) — "
                    f"{_fixed_parameters(experiment, runs)}", fontsize=8)
    figure.tight_layout()
    _save(figure, stem)


def plateau_vs_N_figure(name, experiment, runs, plateaus, eigen, stem):
    """Plateau length against ln N from the simulations, per condition: each
    seed's length (small dots, from its smoothed curve, see
    :mod:`committee.plateau`), their mean ± standard error per N (seeds
    without a detected plateau left out and counted), and the line of slope
    1/(2λ) predicted by the escape eigenvalue λ (largest real part of the
    Jacobian's spectrum at the symmetric fixed point, convention ``full``, from
    the experiment's ODE run of that condition; intercept fitted to the means).
    A symmetry-breaking perturbation of size ~1/√N grows like e^{λα}, so the
    escape takes (1/λ) ln √N + const."""
    runs = _with_labels(runs[runs.experiment == name])
    data = plateaus.merge(runs[runs.method != "ode"], on="run_id")
    figure, ax = plt.subplots(figsize=(6.5, 4.5))
    conditions = data.drop_duplicates(CONDITION + ["method"])
    palette = sns.color_palette("tab10", max(1, len(conditions)))
    notes = []
    for color, (_, condition) in zip(palette, conditions.iterrows()):
        mine = data[_same_condition(data, condition) & (data.method == condition.method)]
        found = mine[mine.has_plateau]
        label = f"{condition.activation}, {condition['K, M']}, η={condition.eta:g}"
        missing = len(mine) - len(found)
        if missing:
            notes.append(f"{label}: {missing} of {len(mine)} seeds without a plateau")
        ax.plot(found.N, found.plateau_length, ".", color=color, alpha=0.35, markersize=4)
        means = found.groupby("N").plateau_length.agg(["mean", "sem", "count"]).reset_index()
        ax.errorbar(means.N, means["mean"], yerr=means["sem"].fillna(0.0), fmt="o",
                    color=color, capsize=2, label=f"{label} ({condition.method})")
        rate = _escape_rate(runs, eigen, condition)
        if rate is None:
            notes.append(f"{label}: no escape eigenvalue (needs an ODE run, K=M>=2, T=I)")
        elif len(means):
            slope = 1.0 / (2.0 * rate)
            ln_N = np.log(means.N.to_numpy(dtype=float))
            intercept = float(np.mean(means["mean"] - slope * ln_N))
            grid = np.linspace(ln_N.min() - 0.3, ln_N.max() + 0.3, 50)
            ax.plot(np.exp(grid), intercept + slope * grid, "-", color=color, linewidth=1,
                    label=f"slope 1/(2λ), λ={rate:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("N (log scale)")
    ax.set_ylabel("plateau length (α)")
    ax.legend(fontsize=7)
    note = ("\n" + "; ".join(notes)) if notes else ""
    ax.set_title(f"{name}: plateau length against ln N — dots: seeds (smoothed ε_g), "
                 f"symbols: mean ± s.e.{note}\n{_fixed_parameters(experiment, runs)}",
                 fontsize=7)
    figure.tight_layout()
    _save(figure, stem)


def _escape_rate(runs, eigen, condition):
    """Largest real eigenvalue (convention full) of the condition's ODE run, or None."""
    ode = runs[_same_condition(runs, condition) & (runs.method == "ode")]
    modes = eigen[eigen.run_id.isin(ode.run_id) & (eigen.convention == "full")]
    if modes.empty:
        return None
    rate = float(modes.eigenvalue_real.max())
    return rate if rate > 0 else None


DRAWERS = {
    "eps_g": (eps_g_figure, "trajectories"),
    "order_parameters": (order_parameter_figure, "order_parameters"),
    "plateau_vs_eta": (plateau_vs_eta_figure, "plateaus"),
    "plateau_heatmap": (plateau_heatmap, "plateaus"),
    "plateau_vs_N": (plateau_vs_N_figure, "plateaus", "eigen"),
}


def draw(kind, name, experiment, tables, stem):
    """Render figure ``kind`` of experiment ``name`` to ``stem``.png and .pdf
    from the public tables (``{name: pandas.DataFrame}``)."""
    function, *needed = DRAWERS[kind]
    function(name, experiment, tables["runs"], *(tables[table] for table in needed), stem)


def figure_stem(folder, name, kind):
    return f"{folder}/{name}_{kind}"
