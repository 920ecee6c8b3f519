"""Reliability: bad input, divergence, interruption, reproducibility, damaged
files and numerical hygiene, each with its own test."""
import copy
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from committee import sweep
from committee.tables import SCHEMAS, DamagedRunFile, aggregate, read_run_file
from test_workflow import ROOT, SNAKEMAKE, read

# ------------------------------------------------------------------ bad configurations
SCHEMA = yaml.safe_load(open(os.path.join(ROOT, "config", "schema.yaml")))
GOOD = {"experiments": {"exp": {
    "activation": ["erf"], "K": [2], "M": [2], "eta": [0.5], "alpha": [0, 1, 2],
    "init": {"R": 0.0, "Q": 0.5}, "ode": {"eta2": True}, "simulate": {"N": [100], "seeds": 2},
}}}
BAD = {  # key: (value, words the message must contain besides experiment 'exp')
    "unknown key": ("etta", [0.1], ["'etta'", "allowed keys", "eta", "activation"]),
    "wrong type": ("K", "two", ["key 'K'", "wrong type", "expected array"]),
    "K < 1": ("K", [0], ["key 'K[0]'", "must be >= 1"]),
    "eta <= 0": ("eta", [0.5, 0.0], ["key 'eta[1]'", "must be > 0"]),
    "N < 2": ("simulate", {"N": [1]}, ["key 'simulate.N[0]'", "must be >= 2"]),
    "N < K + M": ("simulate", {"N": [3]}, ["key 'simulate.N'", "N >= K + M = 4"]),
    "unknown activation": ("activation", ["softplus"],
                           ["key 'activation'", "'softplus'", "allowed: erf, linear, relu"]),
    "unknown method": ("simulate", {"N": [100], "method": "exact"},
                       ["key 'simulate.method'", "'full', 'reduced'"]),
    "T not positive definite": ("T", [[1.0, 2.0], [2.0, 1.0]],
                                ["key 'T'", "must be positive definite"]),
    "T of the wrong shape": ("T", [[1.0]], ["key 'T'", "must be 2x2"]),
    "initial Gram matrix not PSD": ("init", {"R": 1.5, "Q": 1.0},
                                    ["key 'init'", "not positive semidefinite"]),
    "alpha not increasing": ("alpha", [0, 2, 1], ["key 'alpha'", "strictly increasing"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_bad_configuration_names_experiment_key_and_allowed(case):
    key, value, words = BAD[case]
    config = copy.deepcopy(GOOD)
    config["experiments"]["exp"][key] = value
    with pytest.raises(sweep.ConfigError) as error:
        sweep.validate(config, SCHEMA)
    message = str(error.value)
    assert "experiment 'exp'" in message
    for word in words:
        assert word in message, (word, message)


def test_the_good_configuration_is_accepted():
    sweep.validate(copy.deepcopy(GOOD), SCHEMA)


# ------------------------------------------------------------------ one sweep, many ways
SWEEP = {
    "experiments": {
        "committee": {
            "activation": ["erf", "relu"], "K": [2], "M": [2], "eta": [0.5, 1.0],
            "init": {"R": 1.0e-3, "Q": 0.2},
            "alpha": {"max": 100, "points": 51, "spacing": "linear"},
            "ode": {"eta2": True},
            "simulate": {"N": [1000], "seeds": 2, "method": "reduced"},
        },
        "diverging": {  # beyond the stable range for every method
            "activation": ["relu"], "K": [1], "M": [1], "eta": [4.0],
            "init": {"R": 0.0, "Q": 0.25}, "alpha": [0, 1, 2, 5, 10, 20, 50],
            "ode": {"eta2": True},
            "simulate": {"N": [300], "seeds": 1, "method": "full"},
        },
        "diverging_chain": {
            "activation": ["relu"], "K": [1], "M": [1], "eta": [4.0],
            "init": {"R": 0.0, "Q": 0.25}, "alpha": [0, 1, 2, 5, 10, 20, 50],
            "simulate": {"N": [300], "seeds": 1, "method": "reduced"},
        },
    },
    "batch": {"seconds": 1.0},
}


def command(directory):
    """The user's command: the default workflow profile, nothing else."""
    path = os.path.join(directory, "config.yaml")
    with open(path, "w") as handle:
        yaml.safe_dump(SWEEP, handle)
    return [SNAKEMAKE, "--snakefile", os.path.join(ROOT, "Snakefile"), "--directory",
            str(directory), "--configfile", path]


def tables(directory):
    """The six tables, ``wall_seconds`` (not reproducible) left out."""
    found = {name: read(directory, name) for name in SCHEMAS}
    found["runs"] = found["runs"].drop(["wall_seconds"])
    return found


def assert_same_tables(a, b):
    """Bit for bit: same schema, and every value equal (NaN where NaN)."""
    for name in SCHEMAS:
        assert a[name].schema.equals(b[name].schema), name
        pd.testing.assert_frame_equal(a[name].to_pandas(), b[name].to_pandas(), check_exact=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reference")
    result = subprocess.run(command(directory), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return directory


def test_divergence_is_recorded_for_every_method_and_the_sweep_goes_on(reference):
    runs = read(reference, "runs").to_pandas()
    diverging = runs[runs.experiment.str.startswith("diverging")]
    assert set(diverging.method) == {"ode", "full", "reduced"}
    assert (diverging.status == "diverged").all() and (diverging.alpha_reached < 50).all()
    assert (runs[runs.experiment == "committee"].status == "ok").all()
    trajectories = read(reference, "trajectories").to_pandas().merge(diverging, on="run_id")
    assert len(trajectories) and (trajectories.alpha <= trajectories.alpha_reached).all()
    figures = os.listdir(os.path.join(reference, "results", "figures"))
    assert "diverging_eps_g.png" in figures and "diverging_chain_eps_g.png" in figures


def test_no_nan_infinity_or_negative_eps_g_reaches_a_table(reference):
    for name in ("trajectories", "order_parameters", "fixed_points", "eigen"):
        table = read(reference, name).to_pandas()
        numbers = table.select_dtypes("number")
        assert np.isfinite(numbers.to_numpy()).all(), name
    assert (read(reference, "trajectories").to_pandas().eps_g >= 0).all()
    plateaus = read(reference, "plateaus").to_pandas()  # NaN only where there is no plateau
    numbers = plateaus[["eps_plateau", "alpha_enter", "alpha_escape", "plateau_length"]]
    assert (numbers.isna().all(axis=1) == ~plateaus.has_plateau).all()
    runs = read(reference, "runs").to_pandas()
    assert np.isfinite(runs.alpha_reached).all() and set(runs.status) <= {"ok", "diverged"}


def test_the_same_command_again_recomputes_nothing(reference):
    before = {path: os.path.getmtime(path) for path in
              (reference / "results" / "tables").glob("*.parquet")}
    result = subprocess.run(command(reference), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr
    assert before == {path: os.path.getmtime(path) for path in before}


def test_a_rerun_from_scratch_gives_bit_identical_tables(reference, tmp_path):
    result = subprocess.run(command(tmp_path), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_same_tables(tables(reference), tables(tmp_path))


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_sweep_resumes_to_the_same_tables(reference, tmp_path, signal_number):
    """Interrupt the sweep (its whole process group, as Ctrl-C or a dying node
    would) once some runs are stored, then run the same command again."""
    process = subprocess.Popen(command(tmp_path), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    runs = tmp_path / "results" / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if runs.exists() and len(list(runs.glob("*.parquet"))) >= 3:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the sweep finished before it could be interrupted"
    os.killpg(process.pid, signal_number)
    process.wait(timeout=60)
    assert not (tmp_path / "results" / "tables" / "runs.parquet").exists()
    for path in runs.glob("*.parquet"):  # no partial file under a final name
        read_run_file(str(path), path.stem)
    result = subprocess.run(command(tmp_path), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_same_tables(tables(reference), tables(tmp_path))


# ------------------------------------------------------------------ damaged per-run files
def run_files(directory):
    folder = os.path.join(directory, "results", "runs")
    return {name[:-len(".parquet")]: os.path.join(folder, name)
            for name in sorted(os.listdir(folder)) if name.endswith(".parquet")}


def test_a_truncated_run_file_is_named(reference, tmp_path):
    files = run_files(reference)
    victim_id = sorted(files)[1]
    victim = tmp_path / f"{victim_id}.parquet"
    data = open(files[victim_id], "rb").read()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(DamagedRunFile, match=str(victim)):
        aggregate({**files, victim_id: str(victim)})


def test_a_foreign_run_file_is_named(reference, tmp_path):
    files = run_files(reference)
    victim_id = sorted(files)[0]
    foreign = tmp_path / f"{victim_id}.parquet"
    pq.write_table(pa.table({"alpha": [0.0, 1.0], "eps_g": [0.5, 0.1]}), foreign)
    with pytest.raises(DamagedRunFile, match=f"{foreign}.*not a per-run file"):
        aggregate({**files, victim_id: str(foreign)})
    other_id = sorted(files)[1]  # a per-run file of another run under this one's name
    with pytest.raises(DamagedRunFile, match=f"holds run {other_id}, expected {victim_id}"):
        aggregate({**files, victim_id: files[other_id]})


def test_the_workflow_stops_on_a_damaged_run_file(reference, tmp_path):
    directory = tmp_path / "copy"
    shutil.copytree(reference, directory)
    victim = sorted((directory / "results" / "runs").glob("*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:100])
    os.remove(directory / "results" / "tables" / "runs.parquet")
    result = subprocess.run(command(directory), capture_output=True, text=True)
    assert result.returncode != 0
    log = (directory / "results" / "logs" / "tables.log").read_text() + result.stderr
    assert victim.name in log and "not a readable Parquet file" in log
    assert not (directory / "results" / "tables" / "runs.parquet").exists()
