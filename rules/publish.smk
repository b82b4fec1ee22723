rule index:
    """Write the catalogue of publications (index.html), remove publications the data no longer calls for."""
    input:
        shard_manifests,
        plan=f"{STATE}/plan.json",
        code=code_files,
        templates=template_files,
    output:
        touch(f"{STATE}/index.done"),
    log:
        f"{STATE}/logs/index.log",
    benchmark:
        f"{STATE}/benchmarks/index.tsv"
    shell:
        """
        reportgen index \
            --data {DATA:q} \
            --output {OUT:q} \
            --log {log:q}
        """
