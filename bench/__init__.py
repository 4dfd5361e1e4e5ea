"""Benchmarks: each measures a stage and its baseline library on the same input in the same run."""
