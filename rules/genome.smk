# The prepared genome and the masks (workflow_scripts/genome.py, workflow_scripts/masks.py).
GENOME = {"fasta": f"{RESULTS}/genome/genome.fa", "sizes": f"{RESULTS}/genome/chrom.sizes"}


rule prepare_genome:
    input:
        cached(config["genome"]["url"]),
    output:
        fasta=GENOME["fasta"],
        fai=f"{GENOME['fasta']}.fai",
        md5=f"{GENOME['fasta']}.md5",
        sizes=GENOME["sizes"],
    params:
        select=(f"--chromosomes {' '.join(config['genome']['chromosomes'])}" if config["genome"].get("chromosomes")
                else f"--pattern {config['genome'].get('chromosome_pattern') or 'chr([0-9]+|X)'!r}"),
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
        blacklist=cached(config["masks"]["blacklist"]["url"]),
        unmappable=cached(config["masks"]["unmappable"]["url"]),
        sizes=GENOME["sizes"],
    output:
        blacklist=f"{RESULTS}/genome/blacklist.bed",
        unmappable=f"{RESULTS}/genome/unmappable.bed",
    params:
        fmt=config["masks"]["unmappable"].get("format", "bed"),
        threshold=config["masks"]["unmappable"].get("threshold", 1.0),
        naming=config["genome"]["naming"],
    log:
        f"{LOGS}/prepare_masks.log",
    resources:
        **sized("data"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m workflow_scripts.masks --input {input.blacklist:q} --chrom-sizes {input.sizes:q} "
        "--output {output.blacklist:q} --naming {params.naming} --log {log:q} && "
        "python -m workflow_scripts.masks --input {input.unmappable:q} --chrom-sizes {input.sizes:q} "
        "--output {output.unmappable:q} --format {params.fmt} --threshold {params.threshold} "
        "--naming {params.naming} --log {log:q}"


rule genome:
    input:
        rules.prepare_genome.output,
        rules.prepare_masks.output,
