# The public tables, aggregated from the per-run files.


rule tables:
    input:
        batches=expand(f"{RESULTS}/batches/{{batch}}.done", batch=PENDING_BATCHES),
        runs=[path for path in RUN_FILES.values() if os.path.exists(path)],
    output:
        TABLE_FILES,
    log:
        f"{RESULTS}/logs/tables.log",
    params:
        run_files=RUN_FILES,
        plateau=config["plateau"],
    threads: 1
    resources:
        mem_mb=TABLE_MEM_MB,
        runtime=TABLE_MINUTES,
    conda:
        "../../envs/committee.yaml"
    script:
        "../scripts/aggregate_tables.py"
