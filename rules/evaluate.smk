# Test-set evaluation per model and the comparison of all models per data set
# (workflow_scripts/evaluate.py, workflow_scripts/compare.py).
rule evaluate_model:
    input:
        dataset=PATHS["dataset"],
        weights=PATHS["weights"],
        meta=PATHS["model_meta"],
    output:
        metrics=PATHS["metrics"],
        summary=PATHS["eval_summary"],
        summary_json=PATHS["eval_summary_json"],
        predictions=PATHS["predictions"],
        curves=report(PATHS["curves"], category="{dataset}", subcategory="{model}",
                      caption="captions/curves.rst", labels={"data set": "{dataset}", "model": "{model}",
                                                              "figure": "ROC and PR curves"}),
        by_category=PATHS["eval_by_category"],
    params:
        rc="--rc-average" if config["evaluate"]["rc_average"] else "--no-rc-average",
        min_positives=config["evaluate"]["min_positives"],
        curves=" ".join(f"'{t}'" for t in config["evaluate"]["curve_targets"]),
        stride=lambda wc: model_settings(wc.model)["train"].get("eval_stride", 1),
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/evaluate/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/evaluate_model/{{dataset}}/{{model}}.tsv"
    resources:
        gpu=lambda wc: min(1, model_settings(wc.model)["gpus"]),
        **sized("evaluate"),
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m workflow_scripts.evaluate --dataset {input.dataset:q} "
        "--weights {input.weights:q} --meta {input.meta:q} --name {wildcards.model} {params.rc} "
        "--min-positives {params.min_positives} --eval-stride {params.stride} --curve-targets {params.curves} "
        "--metrics {output.metrics:q} --summary {output.summary:q} --summary-json {output.summary_json:q} "
        "--predictions {output.predictions:q} --curves {output.curves:q} --by-category {output.by_category:q} "
        "--log {log:q}"


rule compare_models:
    input:
        metrics=lambda wc: [path("metrics", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        logs=lambda wc: [path("train_log", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
    output:
        table=PATHS["comparison"],
        summary=report(PATHS["comparison_summary"], category="{dataset}", subcategory="comparison",
                       caption="captions/comparison.rst", labels=compare_label("mean AUCs (table)")),
        wins=PATHS["win_shares"],
        scatter_roc=report(PATHS["scatter_roc"], category="{dataset}", subcategory="comparison",
                           caption="captions/scatter.rst", labels=compare_label("per-target ROC AUC")),
        scatter_pr=report(PATHS["scatter_pr"], category="{dataset}", subcategory="comparison",
                          caption="captions/scatter.rst", labels=compare_label("per-target PR AUC")),
        by_category=report(PATHS["compare_by_category"], category="{dataset}", subcategory="comparison",
                           caption="captions/by_category.rst", labels=compare_label("AUC by category")),
        curves=report(PATHS["training_curves"], category="{dataset}", subcategory="comparison",
                      caption="captions/training_curves.rst", labels=compare_label("training curves")),
    params:
        models=lambda wc: " ".join(models_of(wc.dataset)),
        published=lambda wc: as_json(config["evaluate"]["published"].get(wc.dataset, [])),
    log:
        f"{LOGS}/compare/{{dataset}}.log",
    resources:
        **sized("small"),
    conda:
        "../envs/train.yaml"
    shell:
        "python -m workflow_scripts.compare --dataset {wildcards.dataset} --models {params.models} "
        "--metrics {input.metrics:q} --train-logs {input.logs:q} --published {params.published:q} "
        "--table {output.table:q} --summary {output.summary:q} --wins {output.wins:q} "
        "--scatter-roc {output.scatter_roc:q} --scatter-pr {output.scatter_pr:q} "
        "--by-category {output.by_category:q} --training-curves {output.curves:q} --log {log:q}"


rule evaluate:
    input:
        [path("comparison", dataset=d) for d in DATASETS if models_of(d)],
