"""Benchmarks: committed scripts, one command (`make bench`), results in BENCHMARKS.md."""
