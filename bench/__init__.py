"""Benchmarks: how fast and how lean the pipeline is, beside what it is built on.

``make bench`` (``python -m bench``) generates returns with the project's own
template filler, measures every stage of an ingest in a process of its own
(``bench.stage``), runs the baselines on the same files in the same run, then
an Airflow backfill and the DAG parse cost, and writes ``var/bench/``.
Nothing here is imported by the pipeline or asserted by the test suite.
"""
