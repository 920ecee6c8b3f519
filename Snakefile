# On-line learning in soft committee machines: sweeps of ODE and simulation runs,
# Parquet tables and figures.  Keys of config/config.yaml: config/README.md.
from snakemake.utils import min_version

min_version("9.0")


# the default sweep, unless a configuration is given with --configfile
if not config:

    configfile: "config/config.yaml"



include: "workflow/rules/common.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        TABLE_FILES,
        FIGURE_FILES,
    default_target: True
