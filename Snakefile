# seq2reg: genome + public chromatin peak files -> data sets -> trained sequence models ->
# evaluation and motifs. `snakemake --cores 2` runs the embedded demo; see README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/models.yaml"
configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/download.smk"
include: "rules/genome.smk"
include: "rules/peaks.smk"
include: "rules/datasets.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/motifs.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        rules.report.input,
