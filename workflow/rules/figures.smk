# Figures of the tables: which ones an experiment gets is decided by committee.plots.figure_plan.
from committee.plots import figure_plan, figure_stem

FIGURE_PLAN = figure_plan(config)
FIGURE_FOLDER = f"{RESULTS}/figures"
FIGURE_PNGS = [(f"{figure_stem(FIGURE_FOLDER, n, k)}.png", n) for n, k in FIGURE_PLAN]
FIGURE_PDFS = [f"{figure_stem(FIGURE_FOLDER, n, k)}.pdf" for n, k in FIGURE_PLAN]
FIGURE_FILES = [path for path, _ in FIGURE_PNGS] + FIGURE_PDFS


rule figures:
    input:
        TABLE_FILES,
    output:
        [report(path, category=name, caption="../report/figure.rst") for path, name in FIGURE_PNGS],
        FIGURE_PDFS,
    log:
        f"{RESULTS}/logs/figures.log",
    params:
        plan=FIGURE_PLAN,
        folder=lambda wildcards, output: os.path.dirname(output[0]),
        experiments=config["experiments"],
    threads: 1
    resources:
        mem_mb=TABLE_MEM_MB,
        runtime=TABLE_MINUTES,
    conda:
        "../../envs/committee.yaml"
    script:
        "../scripts/plot_figures.py"
