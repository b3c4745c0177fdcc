# seq2reg: genome + public chromatin peak files -> data sets -> trained sequence models ->
# evaluation and motifs. `snakemake --cores 2` runs the embedded demo; see README.md.
from snakemake.utils import min_version

min_version("9.0")


# The model zoo is part of every run. Without --configfile the run is the embedded demo; with
# one, that file stands alone (the demo's settings do not leak into it).
configfile: "config/models.yaml"


if not workflow.overwrite_configfiles:

    configfile: "config/demo.yaml"


report: "rules/captions/workflow.rst"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/download.smk"
include: "rules/genome.smk"
include: "rules/peaks.smk"
include: "rules/datasets.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/receptive_fields.smk"
include: "rules/motifs.smk"
include: "rules/report.smk"
include: "rules/attribution.smk"
include: "rules/use_model.smk"


rule all:
    default_target: True
    input:
        rules.report.input,
        rules.use_models.input,
