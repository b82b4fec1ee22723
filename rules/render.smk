rule render:
    """Render shard {wildcards.shard} of the publications (HTML and PDF); unchanged ones are left as they are.
    Shard 0 also writes the data files (CSV, XLSX) and the changes report, in a process beside its workers."""
    input:
        plan=f"{STATE}/{layout.PLAN}",
        model=f"{STATE}/{layout.MODEL}",
        code=code_files,
        config=CONFIG_STAMP,
        templates=template_files,
        catalogs=catalog_files,
    output:
        f"{STATE}/{layout.SHARDS}/{{shard}}.json",
    params:
        data=DATA,
        output=output_folder,
        pdf_variant=config["pdf_variant"],
        public_url=config["public_url"],
        templates=config["templates"],
        data_date=config["data_date"],
        timeout=config["render_timeout"],
        memory=config["render_memory_mb"],
        pages_country=config["max_pages_country"],
        pages_region=config["max_pages_region"],
        pages_synthesis=config["max_pages_synthesis"],
    threads: render_threads()
    resources:
        mem_mb=int(config["render_memory_mb"]),
    conda:
        "../envs/reportgen.yaml"
    log:
        f"{STATE}/{layout.LOGS}/render-{{shard}}.log",
    benchmark:
        f"{STATE}/{layout.BENCHMARKS}/render-{{shard}}.tsv"
    shell:
        """
        reportgen render \
            --shard {wildcards.shard} \
            --jobs {threads} \
            --data {params.data:q} \
            --output {params.output:q} \
            --pdf-variant={params.pdf_variant:q} \
            --public-url={params.public_url:q} \
            --templates={params.templates:q} \
            --data-date={params.data_date:q} \
            --render-timeout {params.timeout} \
            --render-memory-mb {params.memory} \
            --max-pages-country {params.pages_country} \
            --max-pages-region {params.pages_region} \
            --max-pages-synthesis {params.pages_synthesis} \
            --log {log:q}
        """
