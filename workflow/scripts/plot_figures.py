"""Draw the figures of the plan (rule figures)."""
import os

import pandas as pd

from committee.plots import draw, figure_stem

with open(snakemake.log[0], "w") as log:
    tables = {os.path.basename(p).removesuffix(".parquet"): pd.read_parquet(p)
              for p in snakemake.input}
    for name, kind in snakemake.params.plan:
        stem = figure_stem(snakemake.params.folder, name, kind)
        draw(kind, name, snakemake.params.experiments[name], tables, stem)
        print(f"{stem}.png, {stem}.pdf", file=log)
