"""Full (weight-space) simulator against the exact reduced chain, and the chain
against the ODE as N grows; prints tables and draws one figure.

    .venv/bin/python benchmarks/full_vs_reduced.py [--seeds 300] [--out results/validation]

Part 1: K = M = 2, N = 500, R(0) = 1e-3·I, Q(0) = 0.2·I, erf at η = 1.5 and
ReLU at η = 1, many seeds of each simulator through the plateau and its
escape.  Printed per α: means of R11, Q11, ε_g with their z-score, the ratio of
standard deviations, and the two-sample Kolmogorov–Smirnov p-value of ε_g.
Figure: mean ± s.d. bands of both simulators with the ODE.

Part 2: the reduced chain at N = 10², 10³, 10⁴, 10⁵ (erf, η = 0.5, a
specialised start): RMS deviation of R11(α = 5) from the ODE, times √N, and
the bias of the seed mean.
"""
import argparse
import math
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.stats  # noqa: E402

from committee.ode import Model, solve  # noqa: E402
from committee.simulate import simulate_full, simulate_reduced  # noqa: E402

CASES = [("erf", 1.5, 80.0), ("relu", 1.0, 60.0)]
INIT = ("overlaps", 1e-3 * np.eye(2), 0.2 * np.eye(2))


def ensemble(simulate, model, N, alphas, seeds, init, first_seed=0):
    runs = [simulate(model, N, alphas, seed, init) for seed in range(first_seed, first_seed + seeds)]
    return {"R11": np.array([r.R[:, 0, 0] for r in runs]),
            "Q11": np.array([r.Q[:, 0, 0] for r in runs]),
            "eps_g": np.array([r.eps_g for r in runs]),
            "alpha": runs[0].alpha}


def compare(seeds, out):
    figure, axes = plt.subplots(len(CASES), 3, figsize=(13, 7), squeeze=False)
    for row, (activation, eta, alpha_max) in enumerate(CASES):
        model = Model(K=2, M=2, eta=eta, student=activation)
        alphas = np.linspace(0, alpha_max, 17)
        started = time.perf_counter()
        # different seed ranges: the two simulators share no random numbers anyway
        full = ensemble(simulate_full, model, 500, alphas, seeds, INIT)
        reduced = ensemble(simulate_reduced, model, 500, alphas, seeds, INIT, first_seed=10**6)
        ode = solve(model, INIT[1], INIT[2], alphas)
        print(f"\n{activation}, K = M = 2, eta = {eta}, N = 500, {seeds} seeds each "
              f"({time.perf_counter() - started:.0f} s)")
        print("  alpha   quantity   mean full  mean reduced      z   sd ratio   KS p (eps_g)")
        for k in range(1, alphas.size, 2):
            for name in ("R11", "Q11", "eps_g"):
                a, b = full[name][:, k], reduced[name][:, k]
                z = (a.mean() - b.mean()) / math.sqrt(a.var() / a.size + b.var() / b.size)
                p = scipy.stats.ks_2samp(a, b).pvalue if name == "eps_g" else float("nan")
                print(f"  {alphas[k]:5.1f}   {name:8s}  {a.mean():10.5f}  {b.mean():12.5f}  "
                      f"{z:5.2f}   {a.std() / b.std():8.3f}   {p:10.3g}")
        for col, name in enumerate(("R11", "Q11", "eps_g")):
            ax = axes[row, col]
            for label, data, color in (("full", full, "C0"), ("reduced", reduced, "C3")):
                mean, sd = data[name].mean(0), data[name].std(0)
                ax.plot(data["alpha"], mean, "o-", color=color, markersize=3, label=label)
                ax.fill_between(data["alpha"], mean - sd, mean + sd, color=color, alpha=0.15)
            exact = {"R11": ode.R[:, 0, 0], "Q11": ode.Q[:, 0, 0], "eps_g": ode.eps_g}[name]
            ax.plot(ode.alpha, exact, "k--", linewidth=1, label="ODE (N → ∞)")
            ax.set_title(f"{activation}, η={eta}: {name}", fontsize=9)
            ax.set_xlabel("α")
            ax.legend(fontsize=7)
    figure.suptitle(f"full vs reduced simulator, K=M=2, N=500, R(0)=1e-3·I, Q(0)=0.2·I: "
                    f"mean ± s.d. over {seeds} seeds each", fontsize=10)
    figure.tight_layout()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "full_vs_reduced.png")
    figure.savefig(path, dpi=120)
    print(f"\nfigure: {path}")


def convergence(seeds):
    model = Model(K=2, M=2, eta=0.5, student="erf")
    init = ("overlaps", 0.5 * np.eye(2) + 0.1, 0.6 * np.eye(2) + 0.1)
    alphas = np.array([0.0, 2.0, 5.0])
    exact = solve(model, init[1], init[2], alphas).R[-1, 0, 0]
    print(f"\nreduced chain against the ODE: erf, eta = 0.5, R11 at alpha = 5 "
          f"(ODE {exact:.6f}), {seeds} seeds")
    print("       N    rms dev   rms*sqrt(N)   mean bias    bias*N")
    for N in (100, 1_000, 10_000, 100_000):
        R = ensemble(simulate_reduced, model, N, alphas, seeds, init)["R11"][:, -1]
        deviation = R - exact
        rms = math.sqrt(np.mean(deviation**2))
        print(f"  {N:6d}  {rms:9.2e}   {rms * math.sqrt(N):10.3f}   {deviation.mean():10.2e}  "
              f"{deviation.mean() * N:8.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--out", default="results/validation")
    args = parser.parse_args()
    compare(args.seeds, args.out)
    convergence(min(args.seeds, 100))


if __name__ == "__main__":
    main()
