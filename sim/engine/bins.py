"""Period bins: what every metric is made of, per replication and reported month.

Both routes to the metrics fill the same bins: the compiled kernel while it simulates, and
`sim.engine.metrics` from any engine's case records (the DES's, or the kernel's records
mode). `metrics.from_bins` then turns bins into every summary, yearly and monthly value,
so a metric is defined once and the two routes are tested to give the same bins.

A bin array is (replications, CHANNELS, months):
- a flow channel counts events in each month;
- a mean has two channels, the events and the sum of their values;
- a stock channel holds +1 in the month a case enters (the first month if before day 0)
  and -1 in the month it leaves; the stock just before each month end is its running sum;
- a held channel holds the officer-days in each month (time averages);
- an age channel holds, in the last month, cases open at the end and their summed age.
"""

from __future__ import annotations

from sim.engine.cases import SEVERITIES
from sim.model.scenario import POOLS, STREAMS

FLOWS = ("iopc.referrals", "iopc.independent", *(f"{p}.completed" for p in POOLS),
         "cps.decisions", "cps.charged", "meetings.held", "hearings.held", "accelerated.held",
         "officers.dismissed", *(f"{s}.opened" for s in SEVERITIES))
MEANS = (*(f"{p}.wait_days" for p in POOLS),
         *(f"{p}.{s}.duration_wd" for p in POOLS for s in STREAMS),
         "iopc.duration_wd", "iopc.within_12m", "iopc.over_18m",
         "iopc.complaints.within_12m_of_receipt", "iopc.complaints.over_18m_of_receipt",
         "proceedings.proven",
         "hearings.wait_days", "hearings.time_days", "hearings.room_wait_days")
STOCKS = (*(f"{p}.open" for p in POOLS), *(f"{p}.open_over_12m" for p in POOLS),
          "hearings.awaiting", "officers.suspended", "officers.restricted")
HELD = ("officers.suspended", "officers.restricted")
AGES = tuple(f"{p}.open_age" for p in POOLS)
VOLUMES = ("complaints.cases", "conduct.cases", "allegations")


def _layout() -> dict[str, int]:
    names = [f"flow:{n}" for n in FLOWS]
    names += [f"{part}:{n}" for n in MEANS for part in ("count", "sum")]
    names += [f"stock:{n}" for n in STOCKS] + [f"held:{n}" for n in HELD]
    names += [f"{part}:{n}" for n in AGES for part in ("count", "sum")]
    names += [f"volume:{n}" for n in VOLUMES]
    return {n: i for i, n in enumerate(names)}


CHANNEL = _layout()
CHANNELS = len(CHANNEL)

# The kernel's channel numbers (numba reads module constants as compile-time values).
F_REFERRALS = CHANNEL["flow:iopc.referrals"]
F_INDEPENDENT = CHANNEL["flow:iopc.independent"]
F_COMPLETED = CHANNEL["flow:iopc.completed"]  # + pool code
F_CPS_DECISIONS = CHANNEL["flow:cps.decisions"]
F_CHARGED = CHANNEL["flow:cps.charged"]
F_HELD = CHANNEL["flow:meetings.held"]  # + route code
F_DISMISSED = CHANNEL["flow:officers.dismissed"]
F_OPENED = CHANNEL["flow:gross_misconduct.opened"]  # + severity code
M_WAIT = CHANNEL["count:iopc.wait_days"]  # + 2 x pool code; the sum follows each count
M_DURATION = CHANNEL["count:iopc.complaints.duration_wd"]  # + 2 x (2 x pool + stream)
M_IOPC_DURATION = CHANNEL["count:iopc.duration_wd"]
M_WITHIN_12M = CHANNEL["count:iopc.within_12m"]
M_OVER_18M = CHANNEL["count:iopc.over_18m"]
M_RECEIPT_12M = CHANNEL["count:iopc.complaints.within_12m_of_receipt"]
M_RECEIPT_18M = CHANNEL["count:iopc.complaints.over_18m_of_receipt"]
M_PROVEN = CHANNEL["count:proceedings.proven"]
M_HEARING_WAIT = CHANNEL["count:hearings.wait_days"]
M_HEARING_TIME = CHANNEL["count:hearings.time_days"]
M_ROOM_WAIT = CHANNEL["count:hearings.room_wait_days"]
S_OPEN = CHANNEL["stock:iopc.open"]  # + pool code
S_OVER_12M = CHANNEL["stock:iopc.open_over_12m"]  # + pool code
S_AWAITING = CHANNEL["stock:hearings.awaiting"]
S_SUSPENDED = CHANNEL["stock:officers.suspended"]  # restricted follows
H_SUSPENDED = CHANNEL["held:officers.suspended"]  # restricted follows
A_AGE = CHANNEL["count:iopc.open_age"]  # + 2 x pool code
V_CASES = CHANNEL["volume:complaints.cases"]  # + stream
V_ALLEGATIONS = CHANNEL["volume:allegations"]
