# One job per file (a failure costs one file; a rerun fetches only what is missing). The same
# URL in two sample sheets has one cache key, so it is downloaded once.
if config["downloads"]["local"]:

    localrules:
        download,


rule download:
    input:
        local_source,
    output:
        f"{CACHE}/{{key}}",
    wildcard_constraints:
        key=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    params:
        url=lambda wc: DOWNLOADS[wc.key][0],
        md5=lambda wc: f"--md5 {DOWNLOADS[wc.key][1]}" if DOWNLOADS[wc.key][1] else "",
        opts=(f"--retries {config['downloads']['retries']} --backoff {config['downloads']['backoff']} "
              f"--timeout {config['downloads']['timeout']} --stall-seconds {config['downloads']['stall_seconds']} "
              f"--min-rate {config['downloads']['min_rate']}"),
    log:
        f"{LOGS}/download/{{key}}.log",
    group:
        None if config["downloads"]["local"] else "downloads"  # Snakemake never runs a grouped rule locally
    resources:
        **sized("small"),
    retries: 2
    conda:
        "../envs/data.yaml"
    shell:
        "python -m workflow_scripts.download --url {params.url:q} --output {output:q} {params.md5} "
        "{params.opts} --log {log:q}"


rule downloads:
    input:
        [f"{CACHE}/{k}" for k in DOWNLOADS],
