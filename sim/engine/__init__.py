"""Running a scenario: random streams, drawing cases, the engines (DES and vectorised), records,
metrics and the run loop. Imports no pandas, matplotlib or scipy (tests/test_layout.py)."""
