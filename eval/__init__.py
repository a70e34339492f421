"""Benchmarks and quality evaluations; `qa eval [--quick]` runs them and writes a report."""
