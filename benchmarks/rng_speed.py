"""Speed of committee.rng's Gaussian generator; prints figures, asserts nothing.

    .venv/bin/python benchmarks/rng_speed.py

1. numba compile time, measured apart from run time: a fresh interpreter with
   an empty cache directory (cold) and again with that cache filled (warm):
   import, first ``seed_state``, first ``fill_standard_normal`` (N = 1000),
   then a second ``fill_standard_normal`` call of the same size;
2. nanoseconds per normal and throughput at N = 10^2, 10^3, 10^4, 10^5 for
   ``fill_standard_normal`` called from Python and from a compiled loop, for
   numpy's ``Generator(PCG64).standard_normal(out=...)`` into a preallocated
   array, and, inside compiled loops, for ``standard_normal`` called once per
   draw and for numba's own ``np.random.standard_normal`` (global per-thread
   state, hence not reproducible across thread counts);
   each figure is the best of 5 timings of about 2·10^7 normals each.
"""
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np
from numba import njit

from committee.rng import fill_standard_normal, seed_state, standard_normal

SIZES = (100, 1_000, 10_000, 100_000)
NORMALS_PER_TIMING = 20_000_000
REPEATS = 5

COMPILE_PROBE = """
import time, numpy as np
start = time.perf_counter()
from committee.rng import seed_state, fill_standard_normal
imported = time.perf_counter()
state = seed_state(1)
seeded = time.perf_counter()
out = np.empty(1000)
fill_standard_normal(state, out)
filled = time.perf_counter()
fill_standard_normal(state, out)
print(imported - start, seeded - imported, filled - seeded, time.perf_counter() - filled)
"""


def compile_times():
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        rows = []
        for label in ("cold", "warm"):
            out = subprocess.run([sys.executable, "-c", COMPILE_PROBE], env=env,
                                 capture_output=True, text=True, check=True).stdout
            rows.append((label, *map(float, out.split())))
        return rows


@njit
def fill_loop(state, out, repetitions):
    for _ in range(repetitions):
        fill_standard_normal(state, out)


@njit
def scalar_loop(state, out, repetitions):
    for _ in range(repetitions):
        for n in range(out.shape[0]):
            out[n] = standard_normal(state)


@njit
def numba_builtin_loop(out, repetitions):
    for _ in range(repetitions):
        for n in range(out.shape[0]):
            out[n] = np.random.standard_normal()


def nanoseconds_per_normal(run, size):
    """Best of REPEATS timings of run(repetitions) producing size·repetitions normals."""
    repetitions = max(1, NORMALS_PER_TIMING // size)
    run(1)
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        run(repetitions)
        best = min(best, time.perf_counter() - start)
    return best / (repetitions * size) * 1e9


def python_loop(call, repetitions):
    for _ in range(repetitions):
        call()


def methods(size):
    state, out = seed_state(2024), np.empty(size)
    generator = np.random.Generator(np.random.PCG64(2024))
    return {
        "fill_standard_normal, from Python":
            lambda k: python_loop(lambda: fill_standard_normal(state, out), k),
        "fill_standard_normal, compiled loop": lambda k: fill_loop(state, out, k),
        "standard_normal per draw, compiled": lambda k: scalar_loop(state, out, k),
        "numpy PCG64 standard_normal(out=)":
            lambda k: python_loop(lambda: generator.standard_normal(out=out), k),
        "numba np.random.standard_normal": lambda k: numba_builtin_loop(out, k),
    }


def main():
    print(f"numba {numba.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs\n")
    print("numba compile time (s), fresh interpreter per row")
    print(f"  {'cache':6s} {'import':>8s} {'seed_state':>11s} {'first fill':>11s} {'second fill':>12s}")
    for label, imported, seeded, first, second in compile_times():
        print(f"  {label:6s} {imported:8.3f} {seeded:11.3f} {first:11.3f} {second:12.6f}")

    print("\nns per normal (best of 5, ~2e7 normals each); throughput in millions of normals per second")
    names = list(methods(SIZES[0]))
    header = "".join(f"{f'N = {size:.0e}':>20s}" for size in SIZES)
    print(f"  {'method':38s}{header}")
    table = {name: [] for name in names}
    for size in SIZES:
        for name, run in methods(size).items():
            table[name].append(nanoseconds_per_normal(run, size))
    for name in names:
        cells = "".join(f"{ns:7.2f} ns {1e3 / ns:5.0f} M/s" for ns in table[name])
        print(f"  {name:38s}{cells}")


if __name__ == "__main__":
    main()
