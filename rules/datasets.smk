# The data sets: each configured instance is built by its builder (dhs600, deepsea1000, nuc25k;
# workflow_scripts/build_dataset.py). dhs600 instances first merge their DNase/ATAC peaks the
# Basset way (workflow_scripts/merge_peaks.py).
rule merge_peaks:
    input:
        peaks=lambda wc: accessibility_peaks(wc.dataset),
        sizes=PATHS["chrom_sizes"],
        samples=lambda wc: config["datasets"][wc.dataset]["samples"],
    output:
        merged=PATHS["merged"],
        activity=PATHS["activity"],
    wildcard_constraints:
        dataset=alternatives(datasets_built_by("dhs600")),
    params:
        size=lambda wc: config["datasets"][wc.dataset]["size"],
        overlap=lambda wc: config["datasets"][wc.dataset]["overlap"],
    threads: config["threads"]["data"]
    log:
        f"{LOGS}/merge_peaks/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/merge_peaks/{{dataset}}.tsv"
    resources:
        **sized("data"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m workflow_scripts.merge_peaks --samples {input.samples:q} --peaks {input.peaks:q} "
        "--chrom-sizes {input.sizes:q} --merged-bed {output.merged:q} --activity {output.activity:q} "
        "--size {params.size} --overlap {params.overlap} --workers {threads} --log {log:q}"


rule dataset:
    input:
        unpack(dataset_inputs),
    output:
        PATHS["dataset"],
    params:
        spec=lambda wc: as_json({k: v for k, v in config["datasets"][wc.dataset].items() if k != "models"}),
        files=files_json,
    threads: config["threads"]["data"]
    log:
        f"{LOGS}/dataset/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/dataset/{{dataset}}.tsv"
    resources:
        **sized("data"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m workflow_scripts.build_dataset --name {wildcards.dataset} --spec {params.spec:q} "
        "--inputs {params.files:q} --output {output:q} --workers {threads} --log {log:q}"


rule explore_dataset:
    input:
        PATHS["dataset"],
    output:
        table=PATHS["target_counts"],
        plot=report(PATHS["target_plot"], category="{dataset}", subcategory="data",
                    caption="captions/targets.rst", labels={"data set": "{dataset}", "figure": "targets"}),
    log:
        f"{LOGS}/explore_dataset/{{dataset}}.log",
    resources:
        **sized("small"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m workflow_scripts.explore_dataset --dataset {input:q} --name {wildcards.dataset} "
        "--table {output.table:q} --plot {output.plot:q} --log {log:q}"


rule datasets:
    input:
        [path("dataset", dataset=d) for d in DATASETS],


rule explore:
    input:
        [path(k, dataset=d) for d in DATASETS for k in ("target_counts", "target_plot")],
