"""Measuring mom4d: a procedural landscape with ground truth, and the metrics the benchmarks report."""
