rule validate:
    """Check the dataset against the contract; write validation.json and validation.html; stop on any error."""
    input:
        data_files,
        code=code_files,
    output:
        f"{STATE}/dataset.pickle",
    params:
        data=DATA,
        output=output_folder,
        max_xlsx_mb=config["max_xlsx_mb"],
    conda:
        "../envs/reportgen.yaml"
    log:
        f"{STATE}/logs/validate.log",
    benchmark:
        f"{STATE}/benchmarks/validate.tsv"
    shell:
        """
        reportgen validate {params.data:q} \
            --output {params.output:q} \
            --max-xlsx-mb {params.max_xlsx_mb} \
            --log {log:q}
        """
