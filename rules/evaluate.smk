# Test-set evaluation per model and the comparison of all models per data set
# (workflow_scripts/evaluate.py, workflow_scripts/compare.py).
rule evaluate_model:
    input:
        dataset=PATHS["dataset"],
        weights=PATHS["weights"],
        meta=PATHS["model_meta"],
    output:
        metrics=PATHS["metrics"],
        valid_metrics=PATHS["valid_metrics"],
        summary=PATHS["eval_summary"],
        summary_json=PATHS["eval_summary_json"],
        predictions=PATHS["predictions"],
        curves=report(PATHS["curves"], category="{dataset}", subcategory="{model}",
                      caption="captions/curves.rst", labels={"data set": "{dataset}", "model": "{model}",
                                                              "figure": "ROC and PR curves"}),
        by_category=PATHS["eval_by_category"],
    params:
        rc="--rc-average" if config["evaluate"]["rc_average"] else "--no-rc-average",
        every_base="--every-base" if config["evaluate"]["every_base"] else "--no-every-base",
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
        "--weights {input.weights:q} --meta {input.meta:q} --name {wildcards.model} {params.rc} {params.every_base} "
        "--min-positives {params.min_positives} --eval-stride {params.stride} --curve-targets {params.curves} "
        "--metrics {output.metrics:q} --valid-metrics {output.valid_metrics:q} --summary {output.summary:q} "
        "--summary-json {output.summary_json:q} "
        "--predictions {output.predictions:q} --curves {output.curves:q} --by-category {output.by_category:q} "
        "--log {log:q}"


rule compare_models:
    input:
        metrics=lambda wc: [path("metrics", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        logs=lambda wc: [path("train_log", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        valid_metrics=lambda wc: [path("valid_metrics", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        metas=lambda wc: [path("model_meta", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        target_counts=PATHS["target_counts"],
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
        "--metrics {input.metrics:q} --train-logs {input.logs:q} --valid-metrics {input.valid_metrics:q} --model-meta {input.metas:q} --target-counts {input.target_counts:q} --published {params.published:q} "
        "--table {output.table:q} --summary {output.summary:q} --wins {output.wins:q} "
        "--scatter-roc {output.scatter_roc:q} --scatter-pr {output.scatter_pr:q} "
        "--by-category {output.by_category:q} --training-curves {output.curves:q} --log {log:q}"


rule failure_analysis:
    input:
        dataset=PATHS["dataset"],
        weights=lambda wc: [path("weights", dataset=wc.dataset, model=m) for m in AUTOENCODERS[wc.dataset]],
        meta=lambda wc: [path("model_meta", dataset=wc.dataset, model=m) for m in AUTOENCODERS[wc.dataset]],
    output:
        reconstruction=PATHS["reconstruction"],
        plot=report(PATHS["failure_plot"], category="{dataset}", subcategory="comparison",
                    caption="captions/failure_analysis.rst", labels=compare_label("SuperQ's failure analysis")),
    params:
        autoencoders=lambda wc: " ".join(AUTOENCODERS[wc.dataset]),
    log:
        f"{LOGS}/failure_analysis/{{dataset}}.log",
    resources:
        gpu=lambda wc: min(1, max(model_settings(m)["gpus"] for m in AUTOENCODERS[wc.dataset])),
        **sized("evaluate"),
    conda:
        "../envs/train.yaml"
    shell:
        "python -m workflow_scripts.failure_analysis --dataset {input.dataset:q} --name {wildcards.dataset} "
        "--autoencoders {params.autoencoders} --weights {input.weights:q} --meta {input.meta:q} "
        "--reconstruction {output.reconstruction:q} --plot {output.plot:q} --log {log:q}"


# DSSDA's label study, for a data set with a model trained on a share of the labels
rule label_study:
    input:
        summary=PATHS["comparison_summary"],
    output:
        table=PATHS["label_study"],
        plot=report(PATHS["label_study_plot"], category="{dataset}", subcategory="comparison",
                    caption="captions/label_study.rst", labels=compare_label("label study")),
    log:
        f"{LOGS}/label_study/{{dataset}}.log",
    resources:
        **sized("small"),
    conda:
        "../envs/train.yaml"
    shell:
        "python -m workflow_scripts.label_study --summary {input.summary:q} --name {wildcards.dataset} "
        "--table {output.table:q} --plot {output.plot:q} --log {log:q}"


# DanQ's Table S1 for every data set with models (workflow_scripts/accuracy_table.py)
rule accuracy_table:
    input:
        dataset=PATHS["dataset"],
        weights=lambda wc: [path("weights", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        meta=lambda wc: [path("model_meta", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        metrics=lambda wc: [path("metrics", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        valid_metrics=lambda wc: [path("valid_metrics", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        published=lambda wc: config["accuracy_table"]["published"].get(wc.dataset, []),
    output:
        table=PATHS["accuracy_table"],
    params:
        models=lambda wc: " ".join(models_of(wc.dataset)),
        rc="--rc-average" if config["evaluate"]["rc_average"] else "--no-rc-average",
        published=lambda wc, input: f"--published {shlex.quote(input.published)}" if input.published else "",
        settings=f"--train-bases {config['accuracy_table']['train_bases']} --seed {config['accuracy_table']['seed']}",
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/accuracy_table/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/accuracy_table/{{dataset}}.tsv"
    resources:
        gpu=lambda wc: min(1, max(model_settings(m)["gpus"] for m in models_of(wc.dataset))),
        **sized("evaluate"),
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m workflow_scripts.accuracy_table --dataset {input.dataset:q} "
        "--models {params.models} --weights {input.weights:q} --meta {input.meta:q} --metrics {input.metrics:q} "
        "--valid-metrics {input.valid_metrics:q} {params.rc} {params.settings} {params.published} "
        "--table {output.table:q} --log {log:q}"


# DanQ's Figs. 2-3 for every data set with models (workflow_scripts/curve_overlay.py)
rule curve_overlay:
    input:
        predictions=lambda wc: [path("predictions", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        metrics=lambda wc: [path("metrics", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
    output:
        plot=report(PATHS["curve_overlay"], category="{dataset}", subcategory="comparison",
                    caption="captions/curve_overlay.rst", labels=compare_label("ROC and PR curves overlaid")),
    params:
        models=lambda wc: " ".join(models_of(wc.dataset)),
        curves=" ".join(f"'{t}'" for t in config["evaluate"]["curve_targets"]),
        random=lambda wc: config["evaluate"]["curve_random"].get(wc.dataset, 0),
    log:
        f"{LOGS}/curve_overlay/{{dataset}}.log",
    resources:
        **sized("small"),
    conda:
        "../envs/train.yaml"
    shell:
        "python -m workflow_scripts.curve_overlay --name {wildcards.dataset} --models {params.models} "
        "--predictions {input.predictions:q} --metrics {input.metrics:q} --curve-targets {params.curves} "
        "--random-targets {params.random} "
        "--plot {output.plot:q} --log {log:q}"


rule evaluate:
    input:
        [path(k, dataset=d) for d in DATASETS if models_of(d) for k in ("comparison", "accuracy_table", "curve_overlay")],
        [path(k, dataset=d) for d in DATASETS if AUTOENCODERS[d] for k in FAILURE_FILES],
        [path(k, dataset=d) for d in LABEL_STUDIES for k in LABEL_STUDY_FILES],
