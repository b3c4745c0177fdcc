# One job per file (a failure costs one file; a rerun fetches only what is missing). The same
# URL in two sample sheets has one cache key, so it is downloaded once.
if config["downloads"]["local"]:

    localrules:
        download,


rule download:
    input:
        local_source,
    output:
        PATHS["download"],
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
    # The script retries what a retry can fix (network, server overload) itself; what is left
    # (a 404, an md5 mismatch) is permanent, so Snakemake must not try again.
    retries: 0
    conda:
        "../envs/data.yaml"
    shell:
        "python -m workflow_scripts.download --url {params.url:q} --output {output:q} {params.md5} "
        "{params.opts} --log {log:q}"


rule downloads:
    input:
        [path("download", key=k) for k in DOWNLOADS],
