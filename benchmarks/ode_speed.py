"""Speed of the order-parameter ODE engine; prints figures, asserts nothing.

    .venv/bin/python benchmarks/ode_speed.py

1. numba compile time: a fresh interpreter with an empty cache directory
   (cold) and again with that cache filled (warm), importing the package and
   evaluating one right-hand side and one ε_g;
2. one right-hand-side evaluation (µs, Python call included) for K = M in
   {2, 5, 10} per activation, with and without the η² terms;
3. whole solves: erf K = M = 2, η = 0.1, R(0) = 1e-3·I, Q(0) = 0.2·I to α = 1000;
   ReLU with η² terms to α = 500; erf K = M = 10 to α = 1000 (both conventions);
   401 recorded α values each, DOP853 at rtol 1e-10, atol 1e-12.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

COMPILE_PROBE = """
import time, numpy as np
start = time.perf_counter()
from committee.ode import Model
imported = time.perf_counter()
model = Model(K=2, M=2, eta=0.1, student="{activation}")
model.rates(np.full(7, 0.1)); model.generalisation_error(np.full(7, 0.1))
print(imported - start, time.perf_counter() - imported)
"""


def compile_times(activation):
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        rows = []
        for label in ("cold", "warm"):
            out = subprocess.run([sys.executable, "-c", COMPILE_PROBE.format(activation=activation)],
                                 env=env, capture_output=True, text=True, check=True).stdout
            rows.append((label, *map(float, out.split())))
        return rows


def rhs_microseconds(model, budget=1.0):
    from committee.state import pack

    K = model.K
    y = pack(1e-3 * np.eye(K) + 0.05, 0.2 * np.eye(K) + 0.01)
    rates = model.rate_function()
    rates(y)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget:
        rates(y)
        calls += 1
    return (time.perf_counter() - start) / calls * 1e6


def main():
    from committee.ode import Model, solve

    print("numba compile time (s): import, first rates + eps_g")
    for activation in ("erf", "relu", "tanh"):
        for label, imported, first in compile_times(activation):
            print(f"  {activation:8s} {label}: import {imported:6.2f}  first calls {first:6.2f}")

    print("\nright-hand side (µs per evaluation)")
    print(f"  {'activation':10s} {'K=M':>4s} {'with eta^2':>12s} {'small-eta':>12s}")
    for activation in ("linear", "erf", "relu", "tanh", "sigmoid"):
        for K in (2, 5, 10):
            full = rhs_microseconds(Model(K=K, M=K, eta=0.1, student=activation))
            small = rhs_microseconds(Model(K=K, M=K, eta=0.1, student=activation, eta2=False))
            print(f"  {activation:10s} {K:4d} {full:12.1f} {small:12.1f}")

    print("\nwhole solves (DOP853, rtol 1e-10, 401 recorded α)")
    cases = [
        ("erf  K=M=2  eta=0.1 to 1000", Model(K=2, M=2, eta=0.1), 1000.0),
        ("relu K=M=2  eta=0.1 to 500 ", Model(K=2, M=2, eta=0.1, student="relu"), 500.0),
        ("erf  K=M=10 eta=0.1 to 1000", Model(K=10, M=10, eta=0.1), 1000.0),
        ("erf  K=M=10 small-eta, 1000", Model(K=10, M=10, eta=0.1, eta2=False), 1000.0),
    ]
    for label, model, alpha_max in cases:
        alphas = np.linspace(0.0, alpha_max, 401)
        solve(model, 1e-3, 0.2, alphas[:2])  # compile outside the timing
        best = min(solve(model, 1e-3, 0.2, alphas).wall_seconds for _ in range(3))
        run = solve(model, 1e-3, 0.2, alphas)
        print(f"  {label}: {best * 1e3:8.1f} ms  ({run.n_rhs} right-hand sides, "
              f"eps_g(end) = {run.eps_g[-1]:.3e})")


if __name__ == "__main__":
    main()
