"""Compute the runs of one batch (rule run_batch)."""

from committee.runner import run_batch

with open(snakemake.log[0], "w") as log_file:
    def log(message):
        print(message, file=log_file, flush=True)

    run_batch(snakemake.params.specs, snakemake.params.folder, log)
