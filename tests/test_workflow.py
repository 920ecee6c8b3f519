"""The Snakemake workflow end to end on a tiny sweep, config rejection, and a
dry run of a large grid."""
import math
import os
import shutil
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
import yaml

from committee.tables import SCHEMAS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAKEMAKE = os.path.join(os.path.dirname(sys.executable), "snakemake")

TINY = {
    "experiments": {
        "tiny_2x2": {
            "activation": ["erf", {"student": "relu", "teacher": "erf"}],
            "K": [2], "M": [2], "eta": [0.5, 1.0],
            "init": {"R": 1.0e-3, "Q": 0.2},
            "alpha": {"max": 400, "points": 81, "spacing": "linear"},
            "ode": {"eta2": False},
        },
        "tiny_perceptron": {
            "activation": ["relu"], "K": [1], "M": [1], "eta": [1.0, 3.0],
            "init": {"R": 0.0, "Q": 0.25},
            "alpha": [0, 1, 2, 5, 10, 20],
            "ode": {"eta2": True},
            "simulate": {"N": [50], "seeds": 2, "method": "full"},
        },
        "tiny_sims": {
            "activation": ["relu"], "K": [2], "M": [2], "eta": [1.0],
            "init": {"random": {"Q": 0.2}},
            "alpha": {"max": 60, "points": 61, "spacing": "linear"},
            "ode": {"eta2": True},
            "simulate": {"N": [100, 400], "seeds": 3, "method": "reduced"},
        },
    },
    "batch": {"seconds": 1},
}


def snakemake(directory, config, *arguments):
    path = os.path.join(directory, "config.yaml")
    with open(path, "w") as handle:
        yaml.safe_dump(config, handle)
    command = [SNAKEMAKE, "--snakefile", os.path.join(ROOT, "Snakefile"), "--directory",
               str(directory), "--configfile", path, "--workflow-profile", "none",
               "--cores", "2", *arguments]
    return subprocess.run(command, capture_output=True, text=True)


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sweep")
    result = snakemake(directory, TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    return directory


def read(directory, name):
    return pq.read_table(os.path.join(directory, "results", "tables", f"{name}.parquet"))


def test_tables_have_the_documented_schemas(tiny_sweep):
    for name, schema in SCHEMAS.items():
        assert read(tiny_sweep, name).schema.equals(schema, check_metadata=False), name


def test_table_contents(tiny_sweep):
    runs = read(tiny_sweep, "runs").to_pandas()
    assert len(runs) == 4 + (2 + 4) + (1 + 6) and runs.run_id.is_unique
    assert set(runs.method) == {"ode", "full", "reduced"}
    ode = runs[runs.method == "ode"]
    assert ode.N.isna().all() and ode.seed.isna().all()
    perceptron = ode[ode.experiment == "tiny_perceptron"].set_index("eta")
    assert perceptron.loc[1.0, "status"] == "ok" and perceptron.loc[1.0, "eta2"]
    assert perceptron.loc[3.0, "status"] == "diverged"  # beyond η = 2
    assert perceptron.loc[3.0, "alpha_reached"] < 20
    committee = runs[runs.experiment == "tiny_2x2"]
    assert set(committee.student_activation) == {"erf", "relu"}
    assert set(committee.teacher_activation) == {"erf"}
    assert (committee.status == "ok").all() and (committee.alpha_reached == 400).all()
    assert not committee.eta2.any()  # small-η convention

    trajectories = read(tiny_sweep, "trajectories").to_pandas()
    counts = trajectories.groupby("run_id").size()
    for run in committee.itertuples():
        assert counts[run.run_id] == 81
    assert (trajectories.eps_g >= 0).all() and trajectories.eps_g.notna().all()

    order = read(tiny_sweep, "order_parameters").to_pandas()
    one = order[order.run_id == committee.run_id.iloc[0]]
    assert len(one) == 81 * (2 * 2 + 2 * 2 + 2 * 2)  # R: K·M entries, Q: K², T: M²
    start = one[one.alpha == 0].set_index(["name", "i", "j"]).value
    assert start[("R", 1, 1)] == 1e-3 and start[("R", 1, 2)] == 0 and start[("Q", 2, 2)] == 0.2
    assert start[("T", 1, 1)] == 1 and start[("T", 1, 2)] == 0

    fixed = read(tiny_sweep, "fixed_points").to_pandas()
    committees = ode[(ode.K == ode.M) & (ode.K >= 2)]
    assert set(fixed.run_id) == set(committees.run_id)  # K = M >= 2, T = I only
    assert set(fixed.convention) == {"full", "small_eta"}
    assert (fixed.R == fixed.S).all()
    eigen = read(tiny_sweep, "eigen").to_pandas()
    assert len(eigen) == len(fixed) * 7
    assert all(len(v) == 7 and math.isclose(sum(x * x for x in v), 1.0) for v in eigen.eigenvector)

    plateaus = read(tiny_sweep, "plateaus").to_pandas()
    assert set(plateaus.run_id) == set(runs.run_id)
    erf = plateaus.merge(runs, on="run_id").query("student_activation == 'erf' and eta == 1.0")
    assert erf.has_plateau.iloc[0] and 20 < erf.plateau_length.iloc[0] < 400
    height = fixed[(fixed.run_id == erf.run_id.iloc[0]) & (fixed.convention == "small_eta")]
    assert abs(erf.eps_plateau.iloc[0] - height.eps_g.iloc[0]) < 0.1 * height.eps_g.iloc[0]


def test_simulation_runs(tiny_sweep):
    runs = read(tiny_sweep, "runs").to_pandas()
    sims = runs[runs.method != "ode"]
    assert sims.N.notna().all() and sims.seed.notna().all() and sims.eta2.isna().all()
    chains = sims[sims.experiment == "tiny_sims"]
    assert set(chains.method) == {"reduced"} and sorted(chains.N.unique()) == [100, 400]
    assert sorted(chains.seed) == [0, 0, 1, 1, 2, 2] and (chains.status == "ok").all()
    weights = sims[sims.experiment == "tiny_perceptron"].set_index(["eta", "seed"])
    assert set(weights.method) == {"full"}
    assert (weights.loc[1.0].status == "ok").all()
    assert (weights.loc[3.0].status == "diverged").all()  # beyond η = 2, as the ODE
    assert (weights.loc[3.0].alpha_reached < 20).all()

    trajectories = read(tiny_sweep, "trajectories").to_pandas()
    at_100 = chains[chains.N == 100].run_id
    counts = trajectories[trajectories.run_id.isin(at_100)].groupby("run_id").size()
    assert (counts == 61).all()
    assert trajectories.eps_g.notna().all() and (trajectories.eps_g >= 0).all()
    diverged = trajectories.merge(sims[sims.status == "diverged"], on="run_id")
    assert (diverged.alpha <= diverged.alpha_reached).all()

    order = read(tiny_sweep, "order_parameters").to_pandas()
    start = order[(order.run_id == at_100.iloc[0]) & (order.alpha == 0)]
    T = start[start.name == "T"].set_index(["i", "j"]).value
    assert T[1, 2] == T[2, 1] and T[1, 2] != 0 and abs(T[1, 1] - 1) < 0.5  # random teachers
    Q = start[start.name == "Q"].set_index(["i", "j"]).value
    assert abs(Q[1, 1] - 0.2) < 0.1  # J_i ~ N(0, (0.2/N) I)

    plateaus = read(tiny_sweep, "plateaus").to_pandas()
    curves = plateaus.set_index("run_id").curve
    assert set(curves[sims.run_id]) == {"smoothed"}
    assert set(curves[runs[runs.method == "ode"].run_id]) == {"trajectory"}


def test_readme_queries_work(tiny_sweep):
    """The pandas and DuckDB snippets of README.md read the tables."""
    import duckdb
    import pandas as pd

    tables = os.path.join(tiny_sweep, "results", "tables")
    runs = pd.read_parquet(f"{tables}/runs.parquet")
    one = pd.read_parquet(f"{tables}/trajectories.parquet",
                          filters=[("run_id", "==", runs.run_id[0])])
    assert set(one.run_id) == {runs.run_id[0]} and len(one) > 1
    rows = duckdb.sql(
        f"SELECT r.student_activation, r.eta, p.plateau_length "
        f"FROM '{tables}/runs.parquet' r JOIN '{tables}/plateaus.parquet' p USING (run_id) "
        f"WHERE r.method = 'ode' AND p.has_plateau ORDER BY r.eta").fetchall()
    assert rows and all(length > 0 for _, _, length in rows)


def test_figures_exist(tiny_sweep):
    figures = os.listdir(os.path.join(tiny_sweep, "results", "figures"))
    for stem in ("tiny_2x2_eps_g", "tiny_2x2_order_parameters", "tiny_2x2_plateau_vs_eta",
                 "tiny_2x2_plateau_heatmap", "tiny_perceptron_eps_g", "tiny_sims_eps_g",
                 "tiny_sims_order_parameters", "tiny_sims_plateau_vs_N"):
        for suffix in ("png", "pdf"):
            assert f"{stem}.{suffix}" in figures


def test_growing_the_grid_runs_only_the_new_points(tiny_sweep, tmp_path):
    directory = tmp_path / "grown"
    shutil.copytree(tiny_sweep, directory)
    grown = yaml.safe_load(yaml.safe_dump(TINY))
    grown["experiments"]["tiny_perceptron"]["eta"].append(0.5)
    before = set(os.listdir(directory / "results" / "runs"))
    result = snakemake(directory, grown)
    assert result.returncode == 0, result.stderr[-3000:]
    after = set(os.listdir(directory / "results" / "runs"))
    assert before < after and len(after - before) == 1 + 2  # one ODE run, two seeds
    assert len(read(directory, "runs")) == 17 + 3


def test_bad_configuration_is_rejected_before_any_job(tmp_path):
    bad = yaml.safe_load(yaml.safe_dump(TINY))
    bad["experiments"]["tiny_2x2"]["eta"] = [0.5, -1.0]
    bad["experiments"]["tiny_perceptron"]["activation"] = ["softsign"]
    result = snakemake(tmp_path, bad)
    assert result.returncode != 0
    message = result.stderr + result.stdout
    assert "experiment 'tiny_2x2', key 'eta[1]': -1.0 is not allowed; must be > 0" in message
    assert "unknown student activation 'softsign'" in message and "relu" in message
    assert not os.path.exists(tmp_path / "results")


def test_dry_run_of_a_large_grid_is_fast_and_batched(tmp_path):
    large = {"experiments": {"large": {
        "activation": ["erf", "relu", "linear"], "K": [1, 2, 3], "M": [1, 2, 3],
        "eta": [round(0.01 * k, 2) for k in range(1, 101)],
        "alpha": {"max": 100, "points": 101, "spacing": "linear"}, "ode": {"eta2": True},
    }}}
    started = time.perf_counter()
    result = snakemake(tmp_path, large, "--dry-run", "--quiet", "rules")
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr[-3000:]
    batches = [line for line in result.stdout.splitlines() if line.startswith("run_batch")]
    jobs = int(batches[0].split()[1])
    assert jobs < 100  # 2700 runs packed into jobs of about 2 minutes
    assert elapsed < 60
