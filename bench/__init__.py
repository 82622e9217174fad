"""Benchmarks: ``make bench`` runs every module of ``bench.benchmarks`` and writes ``REPORT.md``."""
