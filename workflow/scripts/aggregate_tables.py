"""Aggregate the per-run files into the public tables (rule tables)."""
import os

from committee.tables import aggregate, write_atomic

with open(snakemake.log[0], "w") as log:
    tables = aggregate(snakemake.params.run_files, snakemake.params.plateau)
    for path in snakemake.output:
        name = os.path.basename(path).removesuffix(".parquet")
        write_atomic(tables[name], path)
        print(f"{path}: {tables[name].num_rows} rows", file=log)
