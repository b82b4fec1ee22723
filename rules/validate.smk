rule validate:
    """Check the dataset against the contract; write validation.json and validation.html; stop on any error."""
    input:
        data_files,
        code=code_files,
    output:
        f"{STATE}/dataset.pickle",
    params:
        max_xlsx_mb=config["max_xlsx_mb"],
    log:
        f"{STATE}/logs/validate.log",
    benchmark:
        f"{STATE}/benchmarks/validate.tsv"
    shell:
        """
        reportgen validate {DATA:q} \
            --output {OUT:q} \
            --max-xlsx-mb {params.max_xlsx_mb} \
            --log {log:q}
        """
