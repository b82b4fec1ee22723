rule prepare:
    """Check the dataset against the contract (validation.json and validation.html; stop on any error), compute
    every figure, copy styles and fonts, and plan the rendering."""
    input:
        data_files,
        code=code_files,
        config=CONFIG_STAMP,
        templates=template_files,
    output:
        plan=f"{STATE}/{layout.PLAN}",
        model=f"{STATE}/{layout.MODEL}",
    params:
        data=DATA,
        output=output_folder,
        max_xlsx_mb=config["max_xlsx_mb"],
        languages=languages_flag,
        shards=SHARDS,
        templates=config["templates"],
        data_date=config["data_date"],
    conda:
        "../envs/reportgen.yaml"
    log:
        f"{STATE}/{layout.LOGS}/prepare.log",
    benchmark:
        f"{STATE}/{layout.BENCHMARKS}/prepare.tsv"
    shell:
        """
        reportgen prepare \
            --data {params.data:q} \
            --output {params.output:q} \
            --max-xlsx-mb {params.max_xlsx_mb} \
            --languages {params.languages} \
            --shards {params.shards} \
            --templates={params.templates:q} \
            --data-date={params.data_date:q} \
            --log {log:q}
        """
