"""The scenario schema's bounds and names, in one place for every module that reads inputs
(`sim.model.scenario`, and `sim.model.demand_file` below it)."""

from __future__ import annotations

SHARE_TOLERANCE = 1e-6
MAX_SLOTS = 100_000  # case slots in one pool: far above any real one, and what an engine holds
FIRST_YEAR, LAST_YEAR = 1900, 2200  # dates the calendar (and bank holidays) can handle
# Upper bounds far above any force, chosen so that what `validate` accepts `run` can run:
# peak demand (officer growth included) of 1e8 a month, times 50 allegations, stays far below
# numpy's Poisson limit (about 9.2e18); a valid demand too big to hold is then refused by
# the memory planner (sim.engine.run.plan_chunks) with its own message, before any sampling.
MAX_CASES_PER_MONTH = 1e8  # a stream's arrivals at their peak (the Met: under 1,000)
MAX_STAFF = 1e6  # head count on one step
MAX_CASES_PER_STAFF = 1e4
MAX_OFFICERS = 1e7
MAX_OFFICER_RATIO = 1_000  # largest / smallest headcount; elasticity raises it to a power
MAX_STEPS = 1_200  # dated steps in one list: monthly for a hundred years
MAX_LEVERS = 100  # each is checked against the scenario, on in turn
MAX_COST_GBP = 1e7  # a year of one officer
MAX_NAME_CHARS, MAX_TEXT_CHARS = 200, 10_000
POOLS = ("iopc", "dps", "psu")
STREAMS = ("complaints", "conduct")
