# Using a trained model (workflow_scripts/predict_sequences.py, variant_effects.py, mutagenesis.py):
# predictions, variant effects and saturation mutagenesis for the inputs named in `use_models`,
# with every model it lists (default: every model of every data set).


rule predict_model:
    input:
        weights=PATHS["weights"],
        meta=PATHS["model_meta"],
        genome=PATHS["genome"],
        sequences=lambda wc: USE["predict"][wc.input],
    output:
        PATHS["predict"],
    params:
        model=model_dir,
        kind=sequence_kind,
        rc="--rc-average" if USE["rc_average"] else "--no-rc-average",
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/predict/{{dataset}}/{{model}}/{{input}}.log",
    resources:
        **sized("evaluate"),
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m workflow_scripts.predict_sequences --model {params.model:q} "
        "{params.kind} {input.sequences:q} --genome {input.genome:q} {params.rc} --out {output:q} --log {log:q}"


rule variant_effects_part:
    input:
        weights=PATHS["weights"],
        meta=PATHS["model_meta"],
        genome=PATHS["genome"],
        variants=lambda wc: USE["variants"][wc.input],
    output:
        h5=temp(PATHS["variants_part"]),
        summary=temp(PATHS["variants_part_summary"]),
    params:
        rc="--rc-average" if USE["rc_average"] else "--no-rc-average",
        parts=USE["variant_parts"],
        ref_mismatch=USE["ref_mismatch"],
        max_indel=USE["max_indel"],
        on_malformed=USE["on_malformed"],
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/variant_effects/{{dataset}}/{{model}}/{{input}}.{{part}}.log",
    benchmark:
        f"{BENCHMARKS}/variant_effects/{{dataset}}/{{model}}/{{input}}.{{part}}.tsv"
    resources:
        gpu=lambda wc: min(1, model_settings(wc.model)["gpus"]),
        **sized("evaluate"),
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m workflow_scripts.variant_effects score --variants {input.variants:q} "
        "--weights {input.weights:q} --meta {input.meta:q} --genome {input.genome:q} "
        "--ref-mismatch {params.ref_mismatch} --max-indel {params.max_indel} {params.rc} "
        "--on-malformed {params.on_malformed} "
        "--part {wildcards.part} --parts {params.parts} --out-h5 {output.h5:q} --summary {output.summary:q} "
        "--log {log:q}"


rule variant_effects_model:
    input:
        parts=lambda wc: [path("variants_part", dataset=wc.dataset, model=wc.model, input=wc.input, part=p)
                          for p in range(USE["variant_parts"])],
        summaries=lambda wc: [path("variants_part_summary", dataset=wc.dataset, model=wc.model, input=wc.input,
                                   part=p) for p in range(USE["variant_parts"])],
        genome=PATHS["genome"],
    output:
        h5=PATHS["variants_h5"],
        tsv=PATHS["variants_tsv"],
        vcf=PATHS["variants_vcf"],
        summary=PATHS["variants_summary"],
    params:
        vcf_scores=" ".join(USE["vcf_scores"]),
        layout=USE["tsv_layout"],
    log:
        f"{LOGS}/variant_effects/{{dataset}}/{{model}}/{{input}}.gather.log",
    resources:
        **sized("evaluate"),
    conda:
        "../envs/train.yaml"
    shell:
        "python -m workflow_scripts.variant_effects gather --part-files {input.parts:q} "
        "--summaries {input.summaries:q} --genome {input.genome:q} --out-h5 {output.h5:q} "
        "--summary {output.summary:q} --tsv {output.tsv:q} --layout {params.layout} --vcf {output.vcf:q} "
        "--vcf-scores {params.vcf_scores} --log {log:q}"


rule mutagenesis_model:
    input:
        weights=PATHS["weights"],
        meta=PATHS["model_meta"],
        genome=PATHS["genome"],
        sequences=lambda wc: USE["mutagenesis"][wc.input],
    output:
        h5=PATHS["ism_h5"],
        plots=PATHS["ism_plots"],
    params:
        model=model_dir,
        kind=sequence_kind,
        rc="--rc-average" if USE["rc_average"] else "--no-rc-average",
        span=USE["ism_span"],
        max_sequences=USE["ism_max_sequences"],
    threads: config["threads"]["evaluate"]
    log:
        f"{LOGS}/mutagenesis/{{dataset}}/{{model}}/{{input}}.log",
    benchmark:
        f"{BENCHMARKS}/mutagenesis/{{dataset}}/{{model}}/{{input}}.tsv"
    resources:
        gpu=lambda wc: min(1, model_settings(wc.model)["gpus"]),
        **sized("evaluate"),
    conda:
        "../envs/train.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python -m workflow_scripts.mutagenesis --model {params.model:q} "
        "{params.kind} {input.sequences:q} --genome {input.genome:q} --span {params.span} "
        "--max-sequences {params.max_sequences} {params.rc} --out {output.h5:q} --plots {output.plots:q} "
        "--log {log:q}"


rule predict:
    input:
        use_targets("predict", USE["predict"]),


rule variant_effects:
    input:
        use_targets("variants_h5", USE["variants"]),


rule mutagenesis:
    input:
        use_targets("ism_h5", USE["mutagenesis"]),


# every use of the trained models, attribution and MoDISco (rules/attribution.smk) included
rule use_models:
    input:
        rules.predict.input,
        rules.variant_effects.input,
        rules.mutagenesis.input,
        rules.modisco.input,
