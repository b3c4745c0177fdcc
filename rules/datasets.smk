# The three data sets (workflow_scripts/merge_peaks.py, dhs600.py, deepsea1000.py, nuc25k.py).
if "dhs600" in DATASETS:

    rule merge_peaks:
        input:
            peaks=dataset_peaks("dhs600", "DNase"),
            sizes=GENOME["sizes"],
            samples=config["datasets"]["dhs600"]["samples"],
        output:
            merged=f"{RESULTS}/dhs600/merged.bed",
            activity=f"{RESULTS}/dhs600/activity.tsv",
        params:
            peaks_dir=peaks_dir,
            size=config["datasets"]["dhs600"]["size"],
            overlap=config["datasets"]["dhs600"]["overlap"],
        threads: config["threads"]["data"]
        log:
            f"{LOGS}/merge_peaks.log",
        resources:
            **sized("data"),
        conda:
            "../envs/data.yaml"
        shell:
            "python -m workflow_scripts.merge_peaks --samples {input.samples:q} --peaks-dir {params.peaks_dir:q} "
            "--chrom-sizes {input.sizes:q} --merged-bed {output.merged:q} --activity {output.activity:q} "
            "--size {params.size} --overlap {params.overlap} --workers {threads} --log {log:q}"

    rule dataset_dhs600:
        input:
            merged=rules.merge_peaks.output.merged,
            activity=rules.merge_peaks.output.activity,
            genome=GENOME["fasta"],
            samples=config["datasets"]["dhs600"]["samples"],
            masks=rules.prepare_masks.output,
        output:
            f"{RESULTS}/datasets/dhs600.h5",
        params:
            size=config["datasets"]["dhs600"]["size"],
            split=as_json(config["datasets"]["dhs600"].get("split", {})),
            blacklist=blacklist_option("dhs600"),
        log:
            f"{LOGS}/dataset_dhs600.log",
        resources:
            **sized("data"),
        conda:
            "../envs/data.yaml"
        shell:
            "python -m workflow_scripts.dhs600 --merged-bed {input.merged:q} --activity {input.activity:q} "
            "--genome {input.genome:q} --samples {input.samples:q} --output {output:q} --size {params.size} "
            "--split {params.split:q} {params.blacklist} --log {log:q}"


if "deepsea1000" in DATASETS:

    rule dataset_deepsea1000:
        input:
            peaks=dataset_peaks("deepsea1000"),
            genome=GENOME["fasta"],
            sizes=GENOME["sizes"],
            samples=config["datasets"]["deepsea1000"]["samples"],
            masks=rules.prepare_masks.output,
        output:
            f"{RESULTS}/datasets/deepsea1000.h5",
        params:
            peaks_dir=peaks_dir,
            spec=config["datasets"]["deepsea1000"],
            categories=" ".join(config["datasets"]["deepsea1000"]["select_categories"]),
            min_signal=as_json(config["datasets"]["deepsea1000"]["min_signal"]),
            split=as_json(config["datasets"]["deepsea1000"].get("split", {})),
            bins_bed=(f"--bins-bed {config['datasets']['deepsea1000']['bins_bed']}"
                      if config["datasets"]["deepsea1000"].get("bins_bed") else ""),
            blacklist=blacklist_option("deepsea1000"),
        threads: config["threads"]["data"]
        log:
            f"{LOGS}/dataset_deepsea1000.log",
        resources:
            **sized("data"),
        conda:
            "../envs/data.yaml"
        shell:
            "python -m workflow_scripts.deepsea1000 --samples {input.samples:q} --peaks-dir {params.peaks_dir:q} "
            "--genome {input.genome:q} --chrom-sizes {input.sizes:q} --output {output:q} "
            "--bin-size {params.spec[bin_size]} --seq-length {params.spec[seq_length]} "
            "--select-categories {params.categories} --min-signal {params.min_signal:q} {params.bins_bed} "
            "--split {params.split:q} {params.blacklist} --workers {threads} --log {log:q}"


if "nuc25k" in DATASETS:

    rule dataset_nuc25k:
        input:
            peaks=dataset_peaks("nuc25k"),
            genome=GENOME["fasta"],
            sizes=GENOME["sizes"],
            unmappable=rules.prepare_masks.output.unmappable,
            samples=config["datasets"]["nuc25k"]["samples"],
        output:
            f"{RESULTS}/datasets/nuc25k.h5",
        params:
            peaks_dir=peaks_dir,
            spec=config["datasets"]["nuc25k"],
            split=as_json(config["datasets"]["nuc25k"].get("split", {})),
        threads: config["threads"]["data"]
        log:
            f"{LOGS}/dataset_nuc25k.log",
        resources:
            **sized("data"),
        conda:
            "../envs/data.yaml"
        shell:
            "python -m workflow_scripts.nuc25k --samples {input.samples:q} --peaks-dir {params.peaks_dir:q} "
            "--genome {input.genome:q} --chrom-sizes {input.sizes:q} --unmappable {input.unmappable:q} "
            "--output {output:q} --window {params.spec[window]} --max-n-fraction {params.spec[max_n_fraction]} "
            "--max-unmappable-fraction {params.spec[max_unmappable_fraction]} --split {params.split:q} "
            "--workers {threads} --log {log:q}"


rule datasets:
    input:
        [f"{RESULTS}/datasets/{d}.h5" for d in DATASETS],
