rule prepare:
    """Compute every figure, write the data files (CSV, XLSX), copy styles and fonts, and plan the rendering."""
    input:
        f"{STATE}/dataset.pickle",
        code=code_files,
        templates=template_files,
    output:
        plan=f"{STATE}/plan.json",
        model=f"{STATE}/model.pickle",
    params:
        languages=languages_flag,
        shards=SHARDS,
        templates=config["templates"],
        data_date=config["data_date"],
    log:
        f"{STATE}/logs/prepare.log",
    benchmark:
        f"{STATE}/benchmarks/prepare.tsv"
    shell:
        """
        reportgen prepare \
            --data {DATA:q} \
            --output {OUT:q} \
            --languages {params.languages} \
            --shards {params.shards} \
            --templates={params.templates:q} \
            --data-date={params.data_date:q} \
            --log {log:q}
        """
