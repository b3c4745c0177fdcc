# The embedded demo inputs, made offline from a seed (workflow_scripts/make_demo.py).
if DEMO["enabled"]:

    rule make_demo:
        input:
            DEMO["sample_sheets"],
        output:
            files=demo_inputs(),
            truth=DEMO["truth"],
        params:
            seed=DEMO["seed"],
            out_dir=lambda wc, output: os.path.dirname(output.truth),
        log:
            f"{LOGS}/make_demo.log",
        conda:
            "../envs/data.yaml"
        shell:
            "python -m workflow_scripts.make_demo --samples {input:q} --out-dir {params.out_dir:q} "
            "--seed {params.seed} --log {log:q}"
