"""Executing runs: one :class:`~committee.sweep.RunSpec` in, one per-run file out.

``run_batch`` is what a workflow job calls: it executes the runs of a batch
that have no per-run file yet, writes each file atomically as soon as the run
ends, and reports progress (α reached, right-hand sides or steps per second)
through ``log`` so that a user tailing a job's log sees it move.  A diverging
run is an outcome, not an error: it is written with ``status = "diverged"``.
"""
import os
import time

import numpy as np

from .fixed_points import plateau_fixed_point, spectrum
from .ode import Model, solve
from .simulate import simulate_full, simulate_reduced
from .tables import run_table, write_atomic

PROGRESS_SECONDS = 10.0


def run_file(folder, spec):
    """Path of a run's per-run file."""
    return os.path.join(folder, f"{spec.run_id}.parquet")


def symmetric_analysis_applies(spec):
    """A plateau fixed point exists for committees (K = M >= 2) learning an orthonormal teacher."""
    return spec.K == spec.M >= 2 and np.array_equal(spec.T_matrix, np.eye(spec.M))


def _model(spec, eta2):
    return Model(K=spec.K, M=spec.M, eta=spec.eta, student=spec.student, teacher=spec.teacher,
                 T=spec.T_matrix, eta2=eta2, noise=spec.noise, weight_decay=spec.weight_decay)


def _symmetric_analysis(spec, log):
    """Fixed-point rows and eigen rows in both conventions."""
    points, modes = [], []
    for convention, eta2 in (("full", True), ("small_eta", False)):
        model = _model(spec, eta2)
        try:
            point = plateau_fixed_point(model)
        except RuntimeError as error:
            log(f"  {spec.run_id}: no symmetric fixed point in the {convention} convention: {error}")
            continue
        values, vectors = spectrum(model, point.state)
        points.append({"convention": convention, "R": point.R, "S": point.S, "Q": point.Q,
                       "C": point.C, "eps_g": point.eps_g})
        for index in range(values.size):
            modes.append({"convention": convention, "index": index,
                          "eigenvalue_real": float(values[index].real),
                          "eigenvalue_imag": float(values[index].imag),
                          "eigenvector": [float(v) for v in vectors[:, index].real]})
    return points, modes


def run_ode(spec, log=print):
    """Solve the ODEs of an ODE run: ``(per-run table, outcome dict)``."""
    model = _model(spec, spec.eta2)
    R0, Q0 = spec.initial_overlaps()
    options = dict(spec.solver)
    last = [time.perf_counter()]
    started = time.perf_counter()

    def progress(alpha, n_rhs):
        now = time.perf_counter()
        if now - last[0] > PROGRESS_SECONDS:
            last[0] = now
            log(f"  {spec.run_id}: alpha {alpha:.4g} of {spec.alphas[-1]:.4g}, "
                f"{n_rhs / (now - started):.0f} right-hand sides/s")

    run = solve(model, R0, Q0, np.array(spec.alphas), progress=progress, **options)
    points, modes = _symmetric_analysis(spec, log) if symmetric_analysis_applies(spec) else ([], [])
    outcome = {"status": run.status, "alpha_reached": run.alpha_reached,
               "wall_seconds": time.perf_counter() - started, "n_rhs": run.n_rhs,
               "message": run.message}
    table = run_table(spec, outcome, run.alpha, run.eps_g, run.eps_g_at_floor, run.R, run.Q,
                      spec.T_matrix, points, modes)
    return table, outcome


SIMULATORS = {"full": simulate_full, "reduced": simulate_reduced}


def simulation_seed(spec):
    """The 64-bit seed of a simulation run's random stream: its run_id.  Runs
    that differ in any parameter (η, N, seed, ...) get unrelated streams; the
    same run always gets the same one."""
    return np.uint64(int(spec.run_id, 16))


def run_simulation(spec, log=print):
    """Simulate one seed at input dimension N: ``(per-run table, outcome dict)``."""
    model = _model(spec, True)
    if spec.init[0] == "random":
        init = spec.init
    else:
        R0, Q0 = spec.initial_overlaps()
        init = ("overlaps", R0, Q0)
    run = SIMULATORS[spec.method](model, spec.N, np.array(spec.alphas), simulation_seed(spec),
                                  init, log=lambda message: log(f"  {spec.run_id}:{message}"))
    outcome = {"status": run.status, "alpha_reached": run.alpha_reached,
               "wall_seconds": run.wall_seconds, "steps": run.steps}
    table = run_table(spec, outcome, run.alpha, run.eps_g, run.eps_g_at_floor, run.R, run.Q,
                      run.T)
    return table, outcome


RUNNERS = {"ode": run_ode, "full": run_simulation, "reduced": run_simulation}


def run_batch(specs, folder, log=print):
    """Execute the runs of ``specs`` that have no per-run file in ``folder``."""
    pending = [spec for spec in specs if not os.path.exists(run_file(folder, spec))]
    log(f"batch of {len(specs)} runs, {len(pending)} to compute")
    for number, spec in enumerate(pending, 1):
        table, outcome = RUNNERS[spec.method](spec, log)
        write_atomic(table, run_file(folder, spec))
        log(f"[{number}/{len(pending)}] {spec.run_id} {spec.method} {spec.student}/{spec.teacher} "
            f"K={spec.K} M={spec.M} eta={spec.eta:g}: {outcome['status']} at alpha "
            f"{outcome['alpha_reached']:.4g}, {outcome['wall_seconds']:.2f} s")
    return pending
