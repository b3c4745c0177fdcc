# Training: one GPU job per (data set, model) through one engine (workflow_scripts/train.py).
# A job given several GPUs trains with DistributedDataParallel through torchrun. A job killed
# by SIGTERM/SIGUSR1 (walltime, preemption) checkpoints; rerunning it resumes. A job rerun after
# a finished training (--forcerun, a rebuilt data set, changed settings) trains afresh.
rule train_model:
    input:
        dataset=PATHS["dataset"],
    output:
        weights=PATHS["weights"],
        log_tsv=PATHS["train_log"],
        meta=PATHS["model_meta"],
    params:
        family=lambda wc: model_settings(wc.model)["family"],
        args=lambda wc: as_json(model_settings(wc.model)["args"]),
        train=lambda wc: as_json(model_settings(wc.model)["train"]),
        launcher=launcher,
    threads: config["threads"]["train"]
    log:
        f"{LOGS}/train/{{dataset}}/{{model}}.log",
    benchmark:
        f"{BENCHMARKS}/train_model/{{dataset}}/{{model}}.tsv"
    resources:
        gpu=lambda wc: model_settings(wc.model)["gpus"],
        **sized("train"),
    retries: 3
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} --dataset {input.dataset:q} --weights {output.weights:q} "
        "--meta {output.meta:q} --train-log {output.log_tsv:q} --family {params.family} "
        "--model-args {params.args:q} --train {params.train:q} --log {log:q}"


rule train:
    input:
        [path("weights", dataset=d, model=m) for d, m in ALL_MODELS],
