"""Metrics, run provenance, result tables, plots and the paper's reference numbers."""
