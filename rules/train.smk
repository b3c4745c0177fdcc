# Training: one GPU job per (data set, model) through one engine (workflow_scripts/train.py).
# A model whose input encoding is fitted first (basset_w2v's word2vec 3-mer vectors, rule
# word2vec on the training split) gets the fitted file as an input and in its settings.
# A job given several GPUs trains with DistributedDataParallel through torchrun. A job killed
# by SIGTERM/SIGUSR1 (walltime, preemption) checkpoints; rerunning it resumes. A job rerun after
# a finished training (--forcerun, a rebuilt data set, changed settings) trains afresh.
rule word2vec:
    input:
        PATHS["dataset"],
    output:
        vectors=PATHS["kmer_vectors"],
        tsne=report(PATHS["kmer_tsne"], category="{dataset}", subcategory="input encodings",
                    caption="captions/kmer_tsne.rst", labels={"data set": "{dataset}", "figure": "3-mer t-SNE"}),
    log:
        f"{LOGS}/word2vec/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/word2vec/{{dataset}}.tsv"
    resources:
        **sized("data"),
    conda:
        "../envs/train.yaml"
    shell:
        "python -m workflow_scripts.word2vec --dataset {input:q} --vectors {output.vectors:q} "
        "--tsne {output.tsne:q} --log {log:q}"


rule train_model:
    input:
        dataset=PATHS["dataset"],
        encoding=encoding_file,
    output:
        weights=PATHS["weights"],
        log_tsv=PATHS["train_log"],
        meta=PATHS["model_meta"],
        # state that is not tensors (SuperQ's forest.skops; models.base.SeqModel.extra_state), empty for most
        extra_state=directory(PATHS["extra_state"]),
    params:
        family=lambda wc: model_settings(wc.model)["family"],
        args=model_args,
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
