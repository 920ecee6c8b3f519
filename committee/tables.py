"""Parquet tables: one file per run while a sweep runs, six tables at the end.

Per-run files (``results/runs/<run_id>.parquet``) are the unit of work and of
resumption: each is written atomically (temporary name, then rename) by the
job that computed the run, so a file under its final name is always complete,
and an interrupted sweep redoes only the runs without one.  A per-run file
holds the trajectory in wide form (``alpha``, ``eps_g``, ``eps_g_at_floor``,
``R_i_n``, ``Q_i_k``, ``T_n_m``) and, as JSON in the Parquet key-value metadata under
``committee``, the run's parameters, outcome, fixed points and spectra.

:func:`aggregate` builds the public tables (columns documented in
``config/README.md``; the schemas below fix their types):
``runs``, ``trajectories``, ``order_parameters``, ``plateaus``,
``fixed_points`` and ``eigen``.
"""
import json
import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import plateau as plateau_detection

RUN_FILE_FORMAT = "committee-run/1"
METADATA_KEY = b"committee"

RUNS = pa.schema([
    ("run_id", pa.string()), ("experiment", pa.string()), ("method", pa.string()),
    ("student_activation", pa.string()), ("teacher_activation", pa.string()),
    ("K", pa.int64()), ("M", pa.int64()), ("eta", pa.float64()), ("eta2", pa.bool_()),
    ("N", pa.int64()), ("seed", pa.int64()), ("noise", pa.float64()),
    ("weight_decay", pa.float64()), ("status", pa.string()), ("alpha_reached", pa.float64()),
    ("wall_seconds", pa.float64()),
])
TRAJECTORIES = pa.schema([
    ("run_id", pa.string()), ("alpha", pa.float64()), ("eps_g", pa.float64()),
    ("eps_g_at_floor", pa.bool_()),
])
ORDER_PARAMETERS = pa.schema([
    ("run_id", pa.string()), ("alpha", pa.float64()), ("name", pa.string()),
    ("i", pa.int64()), ("j", pa.int64()), ("value", pa.float64()),
])
PLATEAUS = pa.schema([
    ("run_id", pa.string()), ("has_plateau", pa.bool_()), ("eps_plateau", pa.float64()),
    ("alpha_enter", pa.float64()), ("alpha_escape", pa.float64()),
    ("plateau_length", pa.float64()), ("curve", pa.string()),
])
FIXED_POINTS = pa.schema([
    ("run_id", pa.string()), ("convention", pa.string()), ("R", pa.float64()),
    ("S", pa.float64()), ("Q", pa.float64()), ("C", pa.float64()), ("eps_g", pa.float64()),
])
EIGEN = pa.schema([
    ("run_id", pa.string()), ("convention", pa.string()), ("index", pa.int64()),
    ("eigenvalue_real", pa.float64()), ("eigenvalue_imag", pa.float64()),
    ("eigenvector", pa.list_(pa.float64())),
])
SCHEMAS = {"runs": RUNS, "trajectories": TRAJECTORIES, "order_parameters": ORDER_PARAMETERS,
           "plateaus": PLATEAUS, "fixed_points": FIXED_POINTS, "eigen": EIGEN}


class DamagedRunFile(RuntimeError):
    """A per-run file that is truncated, unreadable or not written by this package."""


def write_atomic(table, path):
    """Write ``table`` to ``path`` through a temporary file in the same folder."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


# ------------------------------------------------------------------ per-run files
def run_table(spec, outcome, alpha, eps_g, eps_g_at_floor, R, Q, T, fixed_points=(), eigen=()):
    """The per-run file's table: trajectory columns plus metadata.

    ``outcome`` has ``status``, ``alpha_reached`` and ``wall_seconds`` (and any
    further diagnostics); ``R`` is (n, K, M), ``Q`` (n, K, K), ``T`` (M, M) the
    run's fixed teacher overlaps (the realised ones of a simulation), repeated
    at every α; ``fixed_points`` are dicts with the FIXED_POINTS columns but
    ``run_id``, ``eigen`` likewise.
    """
    columns = {"alpha": np.asarray(alpha, dtype=np.float64),
               "eps_g": np.asarray(eps_g, dtype=np.float64),
               "eps_g_at_floor": np.asarray(eps_g_at_floor, dtype=bool)}
    for i in range(spec.K):
        for n in range(spec.M):
            columns[f"R_{i + 1}_{n + 1}"] = np.asarray(R[:, i, n], dtype=np.float64)
        for k in range(spec.K):
            columns[f"Q_{i + 1}_{k + 1}"] = np.asarray(Q[:, i, k], dtype=np.float64)
    for n in range(spec.M):
        for m in range(spec.M):
            columns[f"T_{n + 1}_{m + 1}"] = np.full(len(columns["alpha"]), float(T[n, m]))
    metadata = {
        "format": RUN_FILE_FORMAT,
        "run_id": spec.run_id,
        "spec": spec_record(spec),
        "outcome": outcome,
        "fixed_points": list(fixed_points),
        "eigen": list(eigen),
    }
    table = pa.table(columns)
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(metadata).encode()})


def spec_record(spec):
    """The runs-table columns that describe a run's parameters."""
    return {
        "run_id": spec.run_id, "experiment": spec.experiment, "method": spec.method,
        "student_activation": spec.student, "teacher_activation": spec.teacher,
        "K": spec.K, "M": spec.M, "eta": spec.eta, "eta2": spec.eta2, "N": spec.N,
        "seed": spec.seed, "noise": spec.noise, "weight_decay": spec.weight_decay,
    }


def read_run_file(path, run_id=None):
    """``(table, metadata)`` of a per-run file; :class:`DamagedRunFile` if it is
    truncated, unreadable, foreign, or holds another run than ``run_id``."""
    try:
        table = pq.read_table(path)
    except Exception as error:  # pyarrow raises several types for damaged files
        raise DamagedRunFile(f"{path}: not a readable Parquet file ({error}); delete it "
                             f"and rerun to recompute this run") from error
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    try:
        metadata = json.loads(raw)
        assert metadata["format"] == RUN_FILE_FORMAT
    except Exception as error:
        raise DamagedRunFile(f"{path}: not a per-run file of this package (no "
                             f"{RUN_FILE_FORMAT!r} metadata); delete it and rerun") from error
    if run_id is not None and metadata["run_id"] != run_id:
        raise DamagedRunFile(f"{path}: holds run {metadata['run_id']}, expected {run_id}; "
                             f"delete it and rerun")
    return table.replace_schema_metadata(None), metadata


# ------------------------------------------------------------------ aggregation
_ORDER_COLUMN = re.compile(r"^([RQT])_(\d+)_(\d+)$")


def aggregate(run_files, plateau_options=None):
    """The six public tables (``{name: pyarrow.Table}``) from per-run files
    ``{run_id: path}``, rows sorted by run_id then α.  ``plateau_options``: the
    keyword arguments of :func:`committee.plateau.detect` plus, for simulation
    runs, ``smoothing`` (moving-average width) and ``simulation_min_height``
    (replacing ``min_height``)."""
    plateau_options = dict(plateau_options or {})
    smoothing = plateau_options.pop("smoothing", 9)
    simulation_min_height = plateau_options.pop("simulation_min_height", 0.01)
    simulation_options = {**plateau_options, "min_height": simulation_min_height}
    rows = {name: [] for name in SCHEMAS}
    order = {"run_id": [], "alpha": [], "name": [], "i": [], "j": [], "value": []}
    for run_id in sorted(run_files):
        table, meta = read_run_file(run_files[run_id], run_id)
        rows["runs"].append({**meta["spec"], **{k: meta["outcome"][k] for k in
                                               ("status", "alpha_reached", "wall_seconds")}})
        alpha = table.column("alpha").to_numpy()
        eps_g = table.column("eps_g").to_numpy()
        rows["trajectories"].append(pa.table({
            "run_id": [run_id] * len(alpha), "alpha": alpha, "eps_g": eps_g,
            "eps_g_at_floor": table.column("eps_g_at_floor").to_numpy(zero_copy_only=False)}))
        for column in table.column_names:
            match = _ORDER_COLUMN.match(column)
            if match:
                order["run_id"] += [run_id] * len(alpha)
                order["alpha"].append(alpha)
                order["name"] += [match.group(1)] * len(alpha)
                order["i"] += [int(match.group(2))] * len(alpha)
                order["j"] += [int(match.group(3))] * len(alpha)
                order["value"].append(table.column(column).to_numpy())
        if meta["spec"]["method"] == "ode":
            found = plateau_detection.detect(alpha, eps_g, **plateau_options)
            curve = "trajectory"
        else:
            found = plateau_detection.detect(alpha, plateau_detection.smooth(eps_g, smoothing),
                                             **simulation_options)
            curve = "smoothed"
        rows["plateaus"].append({"run_id": run_id, **found, "curve": curve})
        rows["fixed_points"] += [{"run_id": run_id, **point} for point in meta["fixed_points"]]
        rows["eigen"] += [{"run_id": run_id, **mode} for mode in meta["eigen"]]
    tables = {}
    for name in ("runs", "plateaus", "fixed_points", "eigen"):
        tables[name] = pa.Table.from_pylist(rows[name], schema=SCHEMAS[name])
    tables["trajectories"] = (pa.concat_tables(rows["trajectories"]).cast(TRAJECTORIES)
                              if rows["trajectories"] else TRAJECTORIES.empty_table())
    if order["alpha"]:
        order["alpha"] = np.concatenate(order["alpha"])
        order["value"] = np.concatenate(order["value"])
        tables["order_parameters"] = pa.table(order, schema=ORDER_PARAMETERS).sort_by(
            [("run_id", "ascending"), ("name", "ascending"), ("i", "ascending"),
             ("j", "ascending"), ("alpha", "ascending")])
    else:
        tables["order_parameters"] = ORDER_PARAMETERS.empty_table()
    return tables
