"""Studies built from runs: comparisons, goal-seek, parameter uncertainty, sweeps, calibration
and the Recommendation 7 brief. They compute; `sim.outputs` writes what they find."""
