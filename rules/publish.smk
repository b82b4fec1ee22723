rule index:
    """Write the catalogue of publications (index.html), remove publications the data no longer calls for."""
    input:
        shard_manifests,
        plan=f"{STATE}/{layout.PLAN}",
        code=code_files,
        config=CONFIG_STAMP,
        templates=template_files,
    output:
        touch(f"{STATE}/{layout.INDEX_DONE}"),
    params:
        data=DATA,
        output=output_folder,
    conda:
        "../envs/reportgen.yaml"
    log:
        f"{STATE}/{layout.LOGS}/index.log",
    benchmark:
        f"{STATE}/{layout.BENCHMARKS}/index.tsv"
    shell:
        """
        reportgen index \
            --data {params.data:q} \
            --output {params.output:q} \
            --log {log:q}
        """
