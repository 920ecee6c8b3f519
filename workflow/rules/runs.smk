# Runs, packed into batches; each run writes its own per-run file (results/runs/),
# so an interrupted batch keeps its finished runs and a grown grid computes only
# its new points.


rule run_batch:
    output:
        touch(f"{RESULTS}/batches/{{batch}}.done"),
    log:
        f"{RESULTS}/logs/batches/{{batch}}.log",
    params:
        specs=lambda wildcards: BATCHES[wildcards.batch],
        folder=RUN_FOLDER,
    wildcard_constraints:
        batch=r"(ode|full|reduced)-[0-9a-f]{12}",
    threads: 1
    resources:
        mem_mb=batch_mem_mb,
        runtime=batch_minutes,
    conda:
        "../../envs/committee.yaml"
    script:
        "../scripts/run_batch.py"
