"""Files: reading inputs within limits, writing results whole or not at all, and finding the
shipped scenarios, sweeps, briefs, calibration and data. The lowest layer: it knows nothing of
the model."""
