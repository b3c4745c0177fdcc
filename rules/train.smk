# Training: one GPU job per (data set, model) through one engine (workflow_scripts/train.py).
# A job given several GPUs trains with DistributedDataParallel through torchrun. A job killed
# by SIGTERM/SIGUSR1 (walltime, preemption) checkpoints; rerunning it resumes.
rule train_model:
    input:
        dataset=f"{RESULTS}/datasets/{{dataset}}.h5",
    output:
        weights=f"{RESULTS}/models/{{dataset}}/{{model}}/weights.pt",
        log_tsv=f"{RESULTS}/models/{{dataset}}/{{model}}/train_log.tsv",
        meta=f"{RESULTS}/models/{{dataset}}/{{model}}/model.json",
    wildcard_constraints:
        dataset="|".join(DATASETS),
        model=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    params:
        out_dir=lambda wc: f"{RESULTS}/models/{wc.dataset}/{wc.model}",
        family=lambda wc: model_settings(wc.model)["family"],
        args=lambda wc: as_json(model_settings(wc.model).get("args", {})),
        train=lambda wc: as_json(model_settings(wc.model).get("train", {})),
        launcher=launcher,
    threads: config["threads"]["train"]
    log:
        f"{LOGS}/train/{{dataset}}/{{model}}.log",
    resources:
        gpu=lambda wc: model_settings(wc.model).get("gpus", 1),
        **sized("train"),
    retries: 3
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} --dataset {input.dataset:q} --out-dir {params.out_dir:q} "
        "--family {params.family} --model-args {params.args:q} --train {params.train:q} --log {log:q}"


rule train:
    input:
        [f"{RESULTS}/models/{d}/{m}/weights.pt" for d, m in ALL_MODELS],
