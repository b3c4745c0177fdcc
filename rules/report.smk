# The HTML page a person opens to see a run (workflow_scripts/report.py). The script gets a
# manifest of the files this rule declares, by data set and model.


rule build_report:
    input:
        manifest_files(report_manifest()),
    output:
        page=PATHS["report"],
        planted=PATHS["planted"] if DEMO["enabled"] else [],
    params:
        manifest=as_json(report_manifest()),
        evalue=config["motifs"]["tomtom"]["evalue"],
        profile=config["profile"],
        planted=lambda wc, output: f"--planted {output.planted!r}" if DEMO["enabled"] else "",
    log:
        f"{LOGS}/report.log",
    conda:
        "../envs/motifs.yaml"
    shell:
        "python -m workflow_scripts.report --manifest {params.manifest:q} --output {output.page:q} "
        "{params.planted} --evalue {params.evalue} --profile {params.profile} --log {log:q}"


rule report:
    input:
        rules.build_report.output,
