"""Speed of the SGD simulators; prints figures, asserts nothing.

    .venv/bin/python benchmarks/simulate_speed.py [--quick]

For N in {1e2, 1e3, 1e4, 1e5}, K = M in {2, 5}, erf and ReLU: steps per
second of the full (weight-space) simulator and of the exact reduced chain
(and ns per step), and beside them the time to draw N normals alone with the
same generator (the floor of the full simulator).  Compile time (first call,
cold and warm cache) is reported separately.
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
from committee.simulate import simulate_full, simulate_reduced
imported = time.perf_counter()
model = Model(K=2, M=2, eta=0.5, student="erf")
simulate_full(model, 100, [0, 1], 0, ("overlaps", 0.1 * np.eye(2), 0.5 * np.eye(2)))
simulate_reduced(model, 100, [0, 1], 0, ("overlaps", 0.1 * np.eye(2), 0.5 * np.eye(2)))
print(imported - start, time.perf_counter() - imported)
"""


def compile_times():
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "warm"):
            out = subprocess.run([sys.executable, "-c", COMPILE_PROBE], env=env,
                                 capture_output=True, text=True, check=True).stdout
            imported, first = map(float, out.split())
            print(f"  {label}: import {imported:6.2f} s, first calls {first:6.2f} s")


def steps_per_second(simulate, model, N, budget):
    """Steps per second of ``simulate`` over about ``budget`` seconds, startup excluded."""
    init = ("overlaps", 0.05 * np.eye(model.K, model.M), 0.5 * np.eye(model.K))
    alpha = 1.0
    while True:
        short = simulate(model, N, [0.0, alpha / 10], 1, init)
        full = simulate(model, N, [0.0, alpha], 1, init)
        elapsed = full.wall_seconds - short.wall_seconds
        if elapsed > budget or alpha > 1e6:
            return (full.steps - short.steps) / elapsed
        alpha *= 4


def normals_seconds(N, repeats):
    from committee.rng import fill_standard_normal, seed_state

    state, out = seed_state(1), np.empty(N)
    fill_standard_normal(state, out)
    start = time.perf_counter()
    for _ in range(repeats):
        fill_standard_normal(state, out)
    return (time.perf_counter() - start) / repeats


def main():
    from committee.ode import Model
    from committee.simulate import simulate_full, simulate_reduced

    quick = "--quick" in sys.argv
    budget = 0.3 if quick else 1.0
    print("numba compile time")
    compile_times()
    print("\nsteps per second (one core)")
    print(f"  {'act':5s} {'K=M':>3s} {'N':>7s} {'full':>12s} {'normals floor':>14s} "
          f"{'full/floor':>10s} {'reduced':>12s} {'ns/step':>8s} {'reduced/full':>12s}")
    for activation in ("erf", "relu"):
        for K in (2, 5):
            model = Model(K=K, M=K, eta=0.5, student=activation)
            reduced = steps_per_second(simulate_reduced, model, 1000, budget)
            for N in (100, 1_000, 10_000, 100_000):
                full = steps_per_second(simulate_full, model, N, budget)
                floor = 1.0 / normals_seconds(N, max(10, int(2e6 / N)))
                print(f"  {activation:5s} {K:3d} {N:7d} {full:12.0f} {floor:14.0f} "
                      f"{floor / full:10.2f} {reduced:12.0f} {1e9 / reduced:8.0f} "
                      f"{reduced / full:12.0f}")


if __name__ == "__main__":
    main()
