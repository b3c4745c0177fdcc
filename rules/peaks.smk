# One normalised, sorted, bgzipped, tabix-indexed BED per sample (workflow_scripts/normalise_peaks.py).
rule normalise_peaks:
    input:
        peaks=lambda wc: cached(SAMPLES[wc.sample].url),
        sizes=GENOME["sizes"],
    output:
        bed=f"{RESULTS}/peaks/{{sample}}.bed.gz",
        tbi=f"{RESULTS}/peaks/{{sample}}.bed.gz.tbi",
        counts=f"{RESULTS}/peaks/{{sample}}.counts.tsv",
    wildcard_constraints:
        sample=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    params:
        naming=config["peaks"]["naming"],
        on_malformed=config["peaks"]["on_malformed"],
        allow_empty=lambda wc: "--allow-empty" if SAMPLES[wc.sample].allow_empty else "",
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
        "--on-malformed {params.on_malformed} {params.allow_empty} --log {log:q}"


rule peaks:
    input:
        [f"{RESULTS}/peaks/{s}.bed.gz" for s in SAMPLES],
