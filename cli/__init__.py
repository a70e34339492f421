"""The `qa` command line: a thin shell over `qa.pipeline.Pipeline`."""
