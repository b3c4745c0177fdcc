# The prepared genome and the masks (workflow_scripts/genome.py, workflow_scripts/masks.py).
rule prepare_genome:
    input:
        cached(config["genome"]["url"]),
    output:
        fasta=PATHS["genome"],
        fai=f"{PATHS['genome']}.fai",
        md5=f"{PATHS['genome']}.md5",
        sizes=PATHS["chrom_sizes"],
    params:
        select=(f"--chromosomes {' '.join(config['genome']['chromosomes'])}" if config["genome"]["chromosomes"]
                else f"--pattern {config['genome']['chromosome_pattern'] or 'chr([0-9]+|X)'!r}"),
        naming=config["genome"]["naming"],
    log:
        f"{LOGS}/prepare_genome.log",
    resources:
        **sized("data"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m workflow_scripts.genome --source {input:q} --fasta {output.fasta:q} --sizes {output.sizes:q} "
        "{params.select} --naming {params.naming} --log {log:q}"


rule prepare_masks:
    input:
        blacklist=mask_source("blacklist"),
        unmappable=mask_source("unmappable"),
        sizes=PATHS["chrom_sizes"],
    output:
        blacklist=PATHS["blacklist"],
        unmappable=PATHS["unmappable"],
    params:
        blacklist=lambda wc, input: f"--input {input.blacklist[0]!r}" if input.blacklist else "--none",
        unmappable=lambda wc, input: f"--input {input.unmappable[0]!r}" if input.unmappable else "--none",
        fmt=MASKS.get("unmappable", {}).get("format", "bed"),
        threshold=MASKS.get("unmappable", {}).get("threshold", 1.0),
        naming=config["genome"]["naming"],
    log:
        f"{LOGS}/prepare_masks.log",
    resources:
        **sized("data"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m workflow_scripts.masks {params.blacklist} --chrom-sizes {input.sizes:q} "
        "--output {output.blacklist:q} --naming {params.naming} --log {log:q} && "
        "python -m workflow_scripts.masks {params.unmappable} --chrom-sizes {input.sizes:q} "
        "--output {output.unmappable:q} --format {params.fmt} --threshold {params.threshold} "
        "--naming {params.naming} --log {log:q}"


rule genome:
    input:
        rules.prepare_genome.output,
        rules.prepare_masks.output,
