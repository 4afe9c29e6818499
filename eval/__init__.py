"""Evaluation: question sets, runner, metrics, reports and benchmarks."""
