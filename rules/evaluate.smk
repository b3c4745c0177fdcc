# Test-set evaluation per model and the comparison of all models per data set
# (workflow_scripts/evaluate.py, workflow_scripts/compare.py).
rule evaluate_model:
    input:
        dataset=f"{RESULTS}/datasets/{{dataset}}.h5",
        weights=rules.train_model.output.weights,
        meta=rules.train_model.output.meta,
    output:
        metrics=f"{RESULTS}/eval/{{dataset}}/{{model}}/metrics.tsv",
        summary=f"{RESULTS}/eval/{{dataset}}/{{model}}/summary.txt",
        summary_json=f"{RESULTS}/eval/{{dataset}}/{{model}}/summary.json",
        predictions=f"{RESULTS}/eval/{{dataset}}/{{model}}/predictions.h5",
        curves=f"{RESULTS}/eval/{{dataset}}/{{model}}/curves.png",
        by_category=f"{RESULTS}/eval/{{dataset}}/{{model}}/auc_by_category.png",
    wildcard_constraints:
        dataset="|".join(DATASETS),
    params:
        model_dir=lambda wc: f"{RESULTS}/models/{wc.dataset}/{wc.model}",
        out_dir=lambda wc: f"{RESULTS}/eval/{wc.dataset}/{wc.model}",
        rc="--rc-average" if config["evaluate"]["rc_average"] else "--no-rc-average",
        min_positives=config["evaluate"]["min_positives"],
        curves=" ".join(f"'{t}'" for t in config["evaluate"]["curve_targets"]),
        stride=eval_stride,
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/evaluate/{{dataset}}/{{model}}.log",
    resources:
        gpu=lambda wc: min(1, model_settings(wc.model).get("gpus", 1)),
        **sized("evaluate"),
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m workflow_scripts.evaluate --dataset {input.dataset:q} "
        "--model-dir {params.model_dir:q} --out-dir {params.out_dir:q} --name {wildcards.model} {params.rc} "
        "--min-positives {params.min_positives} --eval-stride {params.stride} "
        "--curve-targets {params.curves} --log {log:q}"


rule compare_models:
    input:
        metrics=lambda wc: [f"{RESULTS}/eval/{wc.dataset}/{m}/metrics.tsv" for m in models_of(wc.dataset)],
        logs=lambda wc: [f"{RESULTS}/models/{wc.dataset}/{m}/train_log.tsv" for m in models_of(wc.dataset)],
    output:
        table=f"{RESULTS}/eval/{{dataset}}/comparison.tsv",
        summary=f"{RESULTS}/eval/{{dataset}}/comparison_summary.tsv",
        wins=f"{RESULTS}/eval/{{dataset}}/win_shares.tsv",
        plots=expand(f"{RESULTS}/eval/{{{{dataset}}}}/{{name}}.png",
                     name=["scatter_roc", "scatter_pr", "auc_by_category", "training_curves"]),
    wildcard_constraints:
        dataset="|".join(DATASETS),
    params:
        models=lambda wc: " ".join(models_of(wc.dataset)),
        out_dir=lambda wc: f"{RESULTS}/eval/{wc.dataset}",
        published=lambda wc: as_json(config["evaluate"]["published"].get(wc.dataset, [])),
    log:
        f"{LOGS}/compare/{{dataset}}.log",
    resources:
        **sized("small"),
    conda:
        "../envs/train.yaml"
    shell:
        "python -m workflow_scripts.compare --dataset {wildcards.dataset} --models {params.models} "
        "--metrics {input.metrics:q} --train-logs {input.logs:q} --out-dir {params.out_dir:q} "
        "--published {params.published:q} --log {log:q}"


rule evaluate:
    input:
        [f"{RESULTS}/eval/{d}/comparison.tsv" for d in DATASETS if models_of(d)],
