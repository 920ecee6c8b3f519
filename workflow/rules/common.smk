# Configuration, the grid of runs and the batches still to compute.
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
PENDING = [spec for spec in RUNS if not os.path.exists(RUN_FILES[spec.run_id])]
PARALLEL = workflow.cores if isinstance(workflow.cores, int) else 1
BATCHES = sweep.batches(PENDING, parallel=PARALLEL, **config["batch"])
TABLE_FILES = [f"{RESULTS}/tables/{name}.parquet" for name in TABLE_SCHEMAS]


def batch_minutes(wildcards):
    """Run time to request from a scheduler: twice the estimate, at least 5 minutes."""
    seconds = sum(sweep.estimated_seconds(spec) for spec in BATCHES[wildcards.batch])
    return max(5, int(2 * seconds / 60) + 1)
