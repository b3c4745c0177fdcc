# Receptive fields of the per-nucleotide models of every nuc25k data set, as Gupta's Figs. 8.5.1
# and D.0.1 (workflow_scripts/receptive_fields.py): one gradient panel per model on the same
# validation window and marker, and effective against analytic fields.


rule receptive_fields_dataset:
    input:
        dataset=PATHS["dataset"],
        weights=lambda wc: [path("weights", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
        meta=lambda wc: [path("model_meta", dataset=wc.dataset, model=m) for m in models_of(wc.dataset)],
    output:
        figure=report(PATHS["receptive_fields_png"], category="{dataset}", subcategory="comparison",
                      caption="captions/receptive_fields.rst", labels=compare_label("receptive fields")),
        table=PATHS["receptive_fields_tsv"],
    params:
        models=lambda wc: " ".join(models_of(wc.dataset)),
        rf=config["receptive_fields"],
    wildcard_constraints:
        dataset=alternatives(RECEPTIVE_FIELD_DATASETS),
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/receptive_fields/{{dataset}}.log",
    benchmark:
        f"{BENCHMARKS}/receptive_fields/{{dataset}}.tsv"
    resources:
        gpu=lambda wc: min(1, max(model_settings(m)["gpus"] for m in models_of(wc.dataset))),
        **sized("evaluate"),
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m workflow_scripts.receptive_fields --dataset {input.dataset:q} "
        "--models {params.models} --weights {input.weights:q} --meta {input.meta:q} --seed {params.rf[seed]} "
        "--positions {params.rf[positions]} --share {params.rf[share]} --figure {output.figure:q} "
        "--table {output.table:q} --log {log:q}"


rule receptive_fields:
    input:
        [path(kind, dataset=d) for d in RECEPTIVE_FIELD_DATASETS for kind in ("receptive_fields_png", "receptive_fields_tsv")],
