# First-layer filters -> motifs -> Tomtom against JASPAR 2024
# (workflow_scripts/filter_motifs.py, motif_files.py, tomtom.py).
TOMTOM = config["motifs"]["tomtom"]


rule jaspar_motifs:
    output:
        f"{RESULTS}/motifs/jaspar2024.meme",
    log:
        f"{LOGS}/jaspar_motifs.log",
    conda:
        "../envs/motifs.yaml"
    shell:
        "python -m workflow_scripts.motif_files --output {output:q} --log {log:q}"


rule filter_motifs:
    input:
        dataset=f"{RESULTS}/datasets/{{dataset}}.h5",
        weights=rules.train_model.output.weights,
        meta=rules.train_model.output.meta,
    output:
        meme=f"{RESULTS}/motifs/{{dataset}}/{{model}}/filters.meme",
        table=f"{RESULTS}/motifs/{{dataset}}/{{model}}/filters.tsv",
        logos=directory(f"{RESULTS}/motifs/{{dataset}}/{{model}}/logos"),
        sheet=f"{RESULTS}/motifs/{{dataset}}/{{model}}/logos.png",
    wildcard_constraints:
        dataset="|".join(DATASETS),
    params:
        model_dir=lambda wc: f"{RESULTS}/models/{wc.dataset}/{wc.model}",
        out_dir=lambda wc: f"{RESULTS}/motifs/{wc.dataset}/{wc.model}",
        m=config["motifs"],
        trim=f"--trim-ic {config['motifs']['trim_ic']}" if config["motifs"]["trim_ic"] is not None else "",
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/filter_motifs/{{dataset}}/{{model}}.log",
    resources:
        gpu=lambda wc: min(1, model_settings(wc.model).get("gpus", 1)),
        **sized("evaluate"),
    conda:
        "../envs/motifs.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m workflow_scripts.filter_motifs --model-dir {params.model_dir:q} "
        "--dataset {input.dataset:q} --out-dir {params.out_dir:q} --factor {params.m[factor]} "
        "--min-sites {params.m[min_sites]} {params.trim} --max-sequences {params.m[max_sequences]} "
        "--workers {threads} --log {log:q}"


rule tomtom:
    input:
        query=rules.filter_motifs.output.meme,
        filters=rules.filter_motifs.output.table,
        targets=tomtom_targets(),
    output:
        table=f"{RESULTS}/motifs/{{dataset}}/{{model}}/tomtom.tsv",
        summary=f"{RESULTS}/motifs/{{dataset}}/{{model}}/tomtom_summary.tsv",
    wildcard_constraints:
        dataset="|".join(DATASETS),
    params:
        t=TOMTOM,
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/tomtom/{{dataset}}/{{model}}.log",
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
        [f"{RESULTS}/motifs/{d}/{m}/tomtom.tsv" for d, m in ALL_MODELS],
