rule index:
    """Write the catalogue of publications (index.html), remove publications the data no longer calls for."""
    input:
        shard_manifests,
        plan=f"{STATE}/plan.json",
        code=code_files,
        templates=template_files,
    output:
        touch(f"{STATE}/index.done"),
    params:
        data=DATA,
        output=output_folder,
    conda:
        "../envs/reportgen.yaml"
    log:
        f"{STATE}/logs/index.log",
    benchmark:
        f"{STATE}/benchmarks/index.tsv"
    shell:
        """
        reportgen index \
            --data {params.data:q} \
            --output {params.output:q} \
            --log {log:q}
        """
