# Configuration, the grid of runs, its batches and those still to compute.
import os

import yaml

from committee import sweep
from committee.tables import SCHEMAS as TABLE_SCHEMAS
from committee.runner import run_file


RESULTS = "results"
RUN_FOLDER = f"{RESULTS}/runs"

with open(os.path.join(workflow.basedir, "config", "schema.yaml")) as handle:
    SCHEMA = yaml.safe_load(handle)
try:
    sweep.validate(config, SCHEMA)
except sweep.ConfigError as error:
    raise WorkflowError(str(error)) from None

RUNS = sweep.expand(config)
RUN_FILES = {spec.run_id: run_file(RUN_FOLDER, spec) for spec in RUNS}
# Batches pack all runs of the sweep, so that every process parsing this file
# (the main one, and each job on a cluster) finds the same batches under the
# same names; only the batches with a run still missing become jobs.
BATCHES = sweep.batches(RUNS, **config["batch"])
PENDING_BATCHES = [name for name, specs in BATCHES.items()
                   if not all(os.path.exists(RUN_FILES[spec.run_id]) for spec in specs)]
TABLE_FILES = [f"{RESULTS}/tables/{name}.parquet" for name in TABLE_SCHEMAS]


def batch_minutes(wildcards, attempt):
    """Run time to request from a scheduler: twice the estimate, at least 5
    minutes, doubled on each retry."""
    seconds = sum(sweep.estimated_seconds(spec) for spec in BATCHES[wildcards.batch])
    return max(5, int(2 * seconds / 60) + 1) * 2 ** (attempt - 1)


def batch_mem_mb(wildcards, attempt):
    """Memory to request: the interpreter and libraries (about 1 GB) plus the
    largest run of the batch (weights K·N, recorded order parameters)."""
    largest = max(sweep.estimated_megabytes(spec) for spec in BATCHES[wildcards.batch])
    return int(1000 + 2 * largest) * attempt


# rows of the order-parameter table, the largest one: sizes the aggregation and figure jobs
TABLE_ROWS = sum(len(spec.alphas) * (spec.K + spec.M) ** 2 for spec in RUNS)
TABLE_MEM_MB = 1500 + TABLE_ROWS // 2000  # about 500 bytes per row in pandas and pyarrow
TABLE_MINUTES = 5 + TABLE_ROWS // 2_000_000
