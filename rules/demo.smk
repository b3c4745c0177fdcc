# The embedded demo inputs, made offline from a seed (workflow_scripts/make_demo.py). The rule
# declares only the demo's own files, all below demo.out_dir: a user's files are never outputs.
if DEMO["enabled"]:

    rule make_demo:
        input:
            DEMO["sample_sheets"],
        output:
            DEMO_FILES,
        params:
            seed=DEMO["seed"],
            out_dir=lambda wc, output: os.path.commonpath(output),   # truth.tsv sits directly in it
        log:
            f"{LOGS}/make_demo.log",
        conda:
            "../envs/data.yaml"
        shell:
            "python -m workflow_scripts.make_demo --samples {input:q} --out-dir {params.out_dir:q} "
            "--seed {params.seed} --log {log:q}"
