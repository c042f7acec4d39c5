"""Scenario sweeps: the design (which points), the runner (resumable, on Dask or local
processes) and the analysis (tables and Sobol sensitivity)."""
