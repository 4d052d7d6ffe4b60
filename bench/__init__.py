"""Benchmarks of ParkShare, run as scripts (see bench/README.md)."""
