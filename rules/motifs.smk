# First-layer filters -> motifs -> Tomtom against JASPAR 2024
# (workflow_scripts/filter_motifs.py, export_jaspar.py, tomtom.py).


rule jaspar_motifs:
    output:
        PATHS["jaspar"],
    log:
        f"{LOGS}/jaspar_motifs.log",
    conda:
        "../envs/motifs.yaml"
    shell:
        "python -m workflow_scripts.export_jaspar --output {output:q} --log {log:q}"


rule filter_motifs:
    input:
        dataset=PATHS["dataset"],
        weights=PATHS["weights"],
        meta=PATHS["model_meta"],
    output:
        meme=PATHS["filters_meme"],
        table=PATHS["filters"],
        logos=directory(PATHS["logos"]),
        sheet=PATHS["logo_sheet"],
    params:
        m=config["motifs"],
        trim=f"--trim-ic {config['motifs']['trim_ic']}" if config["motifs"]["trim_ic"] is not None else "",
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/filter_motifs/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/filter_motifs/{{dataset}}/{{model}}.tsv"
    resources:
        gpu=lambda wc: min(1, model_settings(wc.model)["gpus"]),
        **sized("evaluate"),
    conda:
        "../envs/motifs.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m workflow_scripts.filter_motifs --weights {input.weights:q} "
        "--meta {input.meta:q} --dataset {input.dataset:q} --meme {output.meme:q} --table {output.table:q} "
        "--logos {output.logos:q} --sheet {output.sheet:q} --factor {params.m[factor]} "
        "--min-sites {params.m[min_sites]} {params.trim} --max-sequences {params.m[max_sequences]} "
        "--workers {threads} --log {log:q}"


rule tomtom:
    input:
        query=PATHS["filters_meme"],
        filters=PATHS["filters"],
        targets=tomtom_targets(),
    output:
        table=PATHS["tomtom"],
        summary=report(PATHS["tomtom_summary"], category="{dataset}", subcategory="{model}",
                       caption="captions/tomtom.rst", labels={"data set": "{dataset}", "model": "{model}",
                                                              "figure": "filter motifs vs JASPAR"}),
    params:
        t=TOMTOM,
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/tomtom/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/tomtom/{{dataset}}/{{model}}.tsv"
    resources:
        **sized("evaluate"),
    conda:
        "../envs/motifs.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m workflow_scripts.tomtom --query {input.query:q} "
        "--targets {input.targets:q} --output {output.table:q} --summary {output.summary:q} "
        "--filters {input.filters:q} --distance {params.t[distance]} --min-overlap {params.t[min_overlap]} "
        "--pseudo {params.t[pseudo]} --evalue {params.t[evalue]} --report-evalue {params.t[report_evalue]} --log {log:q}"


rule motifs:
    input:
        [path("tomtom", dataset=d, model=m) for d, m in MOTIF_MODELS],
