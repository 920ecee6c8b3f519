"""The workflow's figures, drawn from the public tables (pandas data frames).

:func:`figure_plan` decides from a configuration which figures an experiment
gets; :func:`draw` renders one of them.  Every figure carries the experiment's
fixed parameters in its title and the varied ones in legends or axes.
Diverged runs are drawn up to the α they reached, dashed, and marked in the
legend.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from .sweep import alpha_grid  # noqa: E402

GRID_AXES = ("activation", "K", "M", "eta")
MAX_ORDER_PARAMETER_RUNS = 6


def _activation_label(student, teacher):
    return student if student == teacher else f"{student} student / {teacher} teacher"


def varied_axes(experiment):
    """The grid axes of an experiment with more than one value."""
    return [axis for axis in GRID_AXES if len(experiment[axis]) > 1]


def figure_plan(config):
    """``[(experiment, kind), ...]`` of the figures the configuration calls for."""
    plan = []
    for name, experiment in config["experiments"].items():
        if "ode" not in experiment:
            continue
        plan += [(name, "eps_g"), (name, "order_parameters")]
        if len(experiment["eta"]) > 1:
            plan.append((name, "plateau_vs_eta"))
        if len(varied_axes(experiment)) >= 2:
            plan.append((name, "plateau_heatmap"))
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


def _save(figure, stem):
    figure.savefig(f"{stem}.png", dpi=130, bbox_inches="tight")
    figure.savefig(f"{stem}.pdf", bbox_inches="tight")
    plt.close(figure)


def eps_g_figure(name, experiment, runs, trajectories, stem):
    """ε_g(α) of the ODE runs: panels by activation (rows) and K, M (columns), hue η."""
    runs = _with_labels(runs[(runs.experiment == name) & (runs.method == "ode")])
    data = trajectories.merge(runs, on="run_id")
    rows, cols = sorted(data.activation.unique()), sorted(data["K, M"].unique())
    figure, axes = plt.subplots(len(rows), len(cols), squeeze=False, sharex=True,
                                figsize=(4.2 * len(cols), 3.2 * len(rows)))
    etas = sorted(runs.eta.unique())
    palette = dict(zip(etas, sns.color_palette("viridis", len(etas))))
    for r, activation in enumerate(rows):
        for c, km in enumerate(cols):
            ax = axes[r, c]
            panel = data[(data.activation == activation) & (data["K, M"] == km)]
            for _, curve in sorted(panel.groupby("run_id"), key=lambda item: item[1].eta.iloc[0]):
                row = curve.iloc[0]
                resolved = curve.eps_g.where(~curve.eps_g_at_floor)  # NaN breaks the line
                diverged = row.status == "diverged"
                ax.plot(curve.alpha, resolved, color=palette[row.eta],
                        linestyle="--" if diverged else "-",
                        label=f"η={row.eta:g}" + (" (diverged)" if diverged else ""))
            ax.set_yscale("log")
            _alpha_axis(ax, experiment)
            ax.set_title(f"{activation}, {km}", fontsize=9)
            if r == len(rows) - 1:
                ax.set_xlabel("α")
            ax.set_ylabel("ε_g")
            ax.legend(fontsize=7)
    figure.suptitle(f"{name}: generalisation error — {_fixed_parameters(experiment, runs)}\n"
                    "lines stop where ε_g reaches its numerical floor; dashed: diverged",
                    fontsize=9)
    figure.tight_layout()
    _save(figure, stem)


def order_parameter_figure(name, experiment, runs, order_parameters, stem):
    """R_in(α) and Q_ik(α) for up to six ODE runs of the experiment."""
    runs = _with_labels(runs[(runs.experiment == name) & (runs.method == "ode")])
    runs = runs.sort_values(["activation", "K", "M", "eta"]).head(MAX_ORDER_PARAMETER_RUNS)
    figure, axes = plt.subplots(len(runs), 2, squeeze=False,
                                figsize=(9, 2.8 * len(runs)))
    for r, (_, run) in enumerate(runs.iterrows()):
        mine = order_parameters[order_parameters.run_id == run.run_id]
        for c, symbol in enumerate("RQ"):
            ax = axes[r, c]
            part = mine[mine.name == symbol]
            if symbol == "Q":
                part = part[part.i <= part.j]
            for (i, j), curve in part.groupby(["i", "j"]):
                ax.plot(curve.alpha, curve.value, label=f"{symbol}{i}{j}",
                        linestyle="-" if i == j else "--")
            _alpha_axis(ax, experiment)
            ax.set_xlabel("α")
            ax.set_ylabel(symbol)
            ax.set_title(f"{run.activation}, {run['K, M']}, η={run.eta:g}"
                         + (" (diverged)" if run.status == "diverged" else ""), fontsize=9)
            ax.legend(fontsize=7, ncol=2)
    figure.suptitle(f"{name}: order parameters — {_fixed_parameters(experiment, runs)}", fontsize=9)
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


DRAWERS = {
    "eps_g": (eps_g_figure, "trajectories"),
    "order_parameters": (order_parameter_figure, "order_parameters"),
    "plateau_vs_eta": (plateau_vs_eta_figure, "plateaus"),
    "plateau_heatmap": (plateau_heatmap, "plateaus"),
}


def draw(kind, name, experiment, tables, stem):
    """Render figure ``kind`` of experiment ``name`` to ``stem``.png and .pdf."""
    function, table = DRAWERS[kind]
    function(name, experiment, tables["runs"], tables[table], stem)


def figure_stem(folder, name, kind):
    return f"{folder}/{name}_{kind}"
