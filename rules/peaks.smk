# One normalised, sorted, bgzipped, tabix-indexed BED per sample (workflow_scripts/normalise_peaks.py).
rule normalise_peaks:
    input:
        peaks=lambda wc: cached(SAMPLES[wc.sample].url),
        sizes=PATHS["chrom_sizes"],
    output:
        bed=PATHS["peaks"],
        tbi=f"{PATHS['peaks']}.tbi",
        counts=PATHS["peak_counts"],
    params:
        naming=config["peaks"]["naming"],
        on_malformed=config["peaks"]["on_malformed"],
        allow_empty=lambda wc: "--allow-empty" if SAMPLES[wc.sample].allow_empty else "",
        source=lambda wc: SAMPLES[wc.sample].source,
    log:
        f"{LOGS}/normalise_peaks/{{sample}}.log",
    group:
        "peaks"
    resources:
        **sized("small"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m workflow_scripts.normalise_peaks --input {input.peaks:q} --chrom-sizes {input.sizes:q} "
        "--output {output.bed:q} --counts {output.counts:q} --naming {params.naming} "
        "--on-malformed {params.on_malformed} {params.allow_empty} --source {params.source:q} --log {log:q}"


rule peaks:
    input:
        [path("peaks", sample=s) for s in SAMPLES],
