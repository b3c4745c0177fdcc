# Attribution and de-novo motifs (workflow_scripts/attribution.py, modisco.py, tomtom.py): DeepLIFT/SHAP
# (ISM where it does not apply) on the top test sequences of each attributed model, TF-MoDISco-lite
# on them, the patterns matched against JASPAR 2024 by the project's Tomtom.


rule attribution_model:
    input:
        weights=PATHS["weights"],
        meta=PATHS["model_meta"],
        dataset=PATHS["dataset"],
    output:
        PATHS["attributions"],
    params:
        model=model_dir,
        a=ATTRIBUTION,
        targets=lambda wc: " ".join(shlex.quote(t) for t in ATTRIBUTION["targets"]),
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/attribution/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/attribution/{{dataset}}/{{model}}.tsv"
    resources:
        gpu=lambda wc: min(1, model_settings(wc.model)["gpus"]),
        **sized("evaluate"),
    conda:
        "../envs/motifs.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m workflow_scripts.attribution --model {params.model:q} "
        "--dataset {input.dataset:q} --split {params.a[split]} --top {params.a[top]} --select {params.a[select]} "
        "--targets {params.targets} --n-shuffles {params.a[n_shuffles]} --seed {params.a[seed]} "
        "--tolerance {params.a[tolerance]} --out {output:q} --log {log:q}"


rule modisco_model:
    input:
        PATHS["attributions"],
    output:
        results=PATHS["modisco"],
        meme=PATHS["modisco_meme"],
        logos=report(PATHS["modisco_logos"], category="{dataset}", subcategory="{model}",
                     caption="captions/modisco.rst", labels={"data set": "{dataset}", "model": "{model}", "figure": "MoDISco patterns"}),
    params:
        m=ATTRIBUTION["modisco"],
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/modisco/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/modisco/{{dataset}}/{{model}}.tsv"
    resources:
        **sized("evaluate"),
    conda:
        "../envs/motifs.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m workflow_scripts.modisco --attributions {input:q} "
        "--results {output.results:q} --meme {output.meme:q} --logos {output.logos:q} --window {params.m[window]} "
        "--flank {params.m[flank]} --max-seqlets {params.m[max_seqlets]} --fdr {params.m[fdr]} "
        "--min-cluster {params.m[min_cluster]} --leiden-runs {params.m[leiden_runs]} --trim {params.m[trim]} "
        "--log {log:q}"


rule modisco_tomtom:
    input:
        query=PATHS["modisco_meme"],
        targets=tomtom_targets(),
    output:
        table=PATHS["modisco_tomtom"],
        summary=PATHS["modisco_summary"],
    params:
        t=TOMTOM,
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/modisco_tomtom/{{dataset}}/{{model}}.log",
    resources:
        **sized("evaluate"),
    conda:
        "../envs/motifs.yaml"
    shell:
        "NUMBA_NUM_THREADS={threads} python -m workflow_scripts.tomtom --query {input.query:q} "
        "--targets {input.targets:q} --output {output.table:q} --summary {output.summary:q} "
        "--distance {params.t[distance]} --min-overlap {params.t[min_overlap]} --pseudo {params.t[pseudo]} "
        "--evalue {params.t[evalue]} --report-evalue {params.t[report_evalue]} --log {log:q}"


rule attribution:
    input:
        [path("attributions", dataset=d, model=m) for d, m in ATTRIBUTED_MODELS],


rule modisco:
    input:
        [path("modisco_tomtom", dataset=d, model=m) for d, m in ATTRIBUTED_MODELS],
