"""The workflow on a real SLURM cluster (the one-node cluster of .ci/slurm.sh)
through profiles/slurm-ci: the tables must equal those of a local run.

Skipped when no such cluster is running.  By hand:

    bash .ci/slurm.sh start
    .venv/bin/pytest -q -m slurm tests/test_slurm.py -s
    bash .ci/slurm.sh stop
"""
import os
import re
import shutil
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pandas as pd
import pytest
import yaml

from committee import sweep
from committee.tables import SCHEMAS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the venv's snakemake: the SLURM jobs run `<its python> -m snakemake`, so they use this venv too
SNAKEMAKE = os.path.join(os.path.dirname(sys.executable), "snakemake")
PROFILE = os.path.join(ROOT, "profiles", "slurm-ci")
STATE = os.path.join(os.environ.get("COMMITTEE_SLURM_DIR", "/tmp/committee-slurm"), "env")
LIMIT = 900  # seconds for the SLURM run; then SIGINT (a hung Snakemake ignores SIGTERM)

# two ODE runs and three `reduced` simulation runs in several batch jobs: each
# SLURM job parses the Snakefile again and must find its batch under its name.
SMALL = {
    "experiments": {
        "ode_2x2": {
            "activation": ["erf"], "K": [2], "M": [2], "eta": [0.5, 1.0],
            "init": {"R": 1.0e-3, "Q": 0.2},
            "alpha": {"max": 100, "points": 21, "spacing": "linear"},
            "ode": {"eta2": False},
        },
        "sims": {
            "activation": ["relu"], "K": [2], "M": [2], "eta": [1.0],
            "init": {"random": {"Q": 0.2}},
            "alpha": {"max": 20, "points": 21, "spacing": "linear"},
            "simulate": {"N": [200], "seeds": 3, "method": "reduced"},
        },
    },
    "batch": {"seconds": 1, "max_runs": 2, "parallel": 2},
}


def batch_jobs():
    """How many batch jobs the workflow makes of SMALL (the library's packing)."""
    with open(os.path.join(ROOT, "config", "schema.yaml")) as handle:
        config = sweep.validate(yaml.safe_load(yaml.safe_dump(SMALL)), yaml.safe_load(handle))
    return len(sweep.batches(sweep.expand(config), **config["batch"]))


pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def cluster():
    """The state file of .ci/slurm.sh, once sinfo answers with an idle node."""
    if not os.path.exists(STATE):
        pytest.skip(f"no SLURM cluster: {STATE} absent (start one with `bash .ci/slurm.sh start`)")
    if shutil.which("sinfo") is None:
        pytest.skip("no SLURM cluster: sinfo not installed")
    with open(STATE) as handle:
        state = dict(line.strip().split("=", 1) for line in handle if "=" in line)
    env = dict(os.environ, SLURM_CONF=state["SLURM_CONF"])
    try:
        answer = subprocess.run(["sinfo", "-h", "-p", state["SLURM_PARTITION"], "-o", "%t"],
                                env=env, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.skip("no SLURM cluster: sinfo did not answer within 20 s")
    states = answer.stdout.split()
    if answer.returncode != 0 or not {"idle", "mix", "alloc"} & set(states):
        pytest.skip(f"no SLURM cluster: sinfo says {answer.stdout.strip() or answer.stderr.strip()!r}")
    return state, env


def snakemake(directory, *arguments, env=None, limit=600):
    path = os.path.join(directory, "config.yaml")
    with open(path, "w") as handle:
        yaml.safe_dump(SMALL, handle)
    command = ["timeout", "-s", "INT", "-k", "60", str(limit), SNAKEMAKE,
               "--snakefile", os.path.join(ROOT, "Snakefile"), "--directory", str(directory),
               "--configfile", path, *arguments]
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    return result, time.monotonic() - start


def tables(directory):
    frames = {}
    for name in SCHEMAS:
        table = pq.read_table(os.path.join(directory, "results", "tables", f"{name}.parquet"))
        frame = table.to_pandas()
        if name == "runs":
            frame = frame.drop(columns="wall_seconds")  # compute time: not reproducible
        for field in table.schema:  # list columns (eigenvector): comparable tuples
            if pa.types.is_list(field.type):
                frame[field.name] = frame[field.name].map(tuple, na_action="ignore")
        frames[name] = frame
    return frames


def test_slurm_run_equals_local_run(cluster, tmp_path):
    state, env = cluster
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    on_slurm.mkdir()
    local.mkdir()

    result, slurm_seconds = snakemake(
        on_slurm, "--workflow-profile", PROFILE, "--cores", state["SLURM_NODE_CPUS"],
        "--resources", f"mem_mb={state['SLURM_NODE_MEM_MB']}", env=env, limit=LIMIT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"SLURM run failed ({result.returncode}):\n{output[-5000:]}"

    # SLURM ran the jobs: the plugin's submissions, and a SLURM log per job id
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", output)
    rules = [os.path.relpath(log, on_slurm / ".snakemake" / "slurm_logs").split(os.sep)[0]
             for _, log in submitted]
    assert batch_jobs() >= 2 and rules.count("rule_run_batch") == batch_jobs(), output[-5000:]
    assert {"rule_tables", "rule_figures"} <= set(rules), output[-5000:]
    for job_id, log in submitted:
        assert os.path.exists(log) and os.path.basename(log) == f"{job_id}.log"
        with open(log) as handle:
            assert "--executor slurm-jobstep" in handle.read(), log
    print(f"\nSLURM ({state['SLURM_PARTITION']}, {state['SLURM_NODE_CPUS']} CPUs): "
          f"{len(submitted)} jobs in {slurm_seconds:.0f} s; "
          + ", ".join(f"{job_id} ({rule[5:]})" for (job_id, _), rule in zip(submitted, rules)))

    queue = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i %j %T %M %N"], env=env,
                           capture_output=True, text=True, timeout=20).stdout
    ran = {line.split()[0]: line for line in queue.splitlines() if line.split()}
    for job_id, _ in submitted:  # SLURM's own record (squeue keeps ended jobs for MinJobAge)
        assert job_id in ran and "COMPLETED" in ran[job_id], queue
    print("squeue -t all (id name state time node):\n" + "\n".join(ran[j] for j, _ in submitted))

    result, local_seconds = snakemake(local, "--workflow-profile", "none", "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    print(f"local: {local_seconds:.0f} s")

    on_cluster, here = tables(on_slurm), tables(local)
    assert len(on_cluster["runs"]) == 2 + 3
    for name in SCHEMAS:
        pd.testing.assert_frame_equal(on_cluster[name], here[name], check_exact=True, obj=name)
