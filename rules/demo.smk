# The embedded demo inputs, made offline from a seed (workflow_scripts/make_demo.py). The rule
# declares only the demo's own files, all below demo.out_dir: a user's files are never outputs.
# make_demo.py is an input, so a changed generator remakes the demo (and everything after it).
if DEMO["enabled"]:

    rule make_demo:
        input:
            sheets=DEMO["sample_sheets"],
            generator=os.path.join(workflow.basedir, "workflow_scripts", "make_demo.py"),
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
            "python -m workflow_scripts.make_demo --samples {input.sheets:q} --out-dir {params.out_dir:q} "
            "--seed {params.seed} --log {log:q}"
