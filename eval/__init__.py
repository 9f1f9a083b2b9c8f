"""Evaluation: metrics with uncertainty, run comparison, outlet profiles."""
