"""Calibration: the published targets, the figures derived from them, and the fit."""
