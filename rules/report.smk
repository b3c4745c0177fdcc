# The HTML page a person opens to see a run (workflow_scripts/report.py).
rule build_report:
    input:
        counts=[f"{RESULTS}/peaks/{s}.counts.tsv" for s in SAMPLES],
        datasets=[f"{RESULTS}/datasets/{d}.h5" for d in DATASETS],
        comparisons=[f"{RESULTS}/eval/{d}/comparison.tsv" for d in DATASETS if models_of(d)],
        tomtom=[f"{RESULTS}/motifs/{d}/{m}/tomtom_summary.tsv" for d, m in ALL_MODELS],
        truth=[config["demo"]["truth"]] if config["demo"]["enabled"] else [],
    output:
        page=f"{RESULTS}/report/index.html",
    params:
        datasets=as_json({d: models_of(d) for d in DATASETS}),
        truth=f"--truth {config['demo']['truth']}" if config["demo"]["enabled"] else "",
        evalue=config["motifs"]["tomtom"]["evalue"],
        results=lambda wc, output: os.path.dirname(os.path.dirname(output.page)),
        profile=PROFILE,
    log:
        f"{LOGS}/report.log",
    conda:
        "../envs/motifs.yaml"
    shell:
        "python -m workflow_scripts.report --results {params.results:q} --output {output.page:q} "
        "--datasets {params.datasets:q} {params.truth} --evalue {params.evalue} --profile {params.profile} "
        "--log {log:q}"


rule report:
    input:
        rules.build_report.output,
