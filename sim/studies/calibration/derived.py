"""Parameters that follow directly from the published figures, with the arithmetic shown.

Every value here is computed from numbers in `data/figures.csv` (named by id) and,
where a figure leaves a split open, from an ASSUMPTION named beside it. `derived()` returns
one `Derived` per scenario field: the value, the arithmetic as text, and its sources; the
calibration writes them into `calibration/fitted.yaml` and the report lists them.

Route, proven and dismissal shares (S-15, S-16, S-17) are pooled over both years, unlike the
fitted effort (`sim.studies.calibration.fit`, two regimes): proceedings held in 2019/20 and in
2020/21 were almost all of cases received before the 2020 regulations (1 February 2020, T03-26), so
the published rise in the proven share (69% to 79%) is not a change of regime for the cases
received and cannot be split by one.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- published figures (figures.csv id in the name's comment) ---------------------------
COMPLAINTS_1920_10M = 6474  # S-01: complaint cases, 2019/20 (10 months)
COMPLAINTS_2021 = 7999  # S-01: complaint cases, 2020/21
COMPLAINTS_2122 = 7216  # S-29: complaint cases, 2021/22 (replayed by the calibration variant)
ALLEGATIONS_C_1920, ALLEGATIONS_C_2021 = 12592, 15166  # S-02
CONDUCT_1920, CONDUCT_2021 = 808, 907  # S-03
ALLEGATIONS_K_1920, ALLEGATIONS_K_2021 = 1305, 1337  # S-04
INFORMAL, FORMAL_NO_INVESTIGATION, TO_STANDARDS = 0.15, 0.64, 0.21  # T01-30 (2020/21)
RP_CONDUCT = 0.19  # S-10: reflective practice, conduct matters
REFERRALS, INDEPENDENT = 1061, 91  # S-22 (2021/22)
MPS_C, DPS_C, LOCAL_C = 155, 209, 151  # S-06 (2020/21)
MPS_K, DPS_K, LOCAL_K = 241, 316, 156  # S-07 (2020/21)
# S-15 (2019/20 + 2020/21): meetings, hearings, special case + accelerated
MEETINGS, HEARINGS, ACCELERATED = 176 + 135, 83 + 57, 28 + 0 + 21 + 5
# S-16 (both years): proven and not proven by route (discontinued left out); the
# accelerated route is special case + accelerated
PROVEN = {"meeting": (133 + 113, 61 + 38), "hearing": (56 + 51, 28 + 11),
          "accelerated": (28 + 20 + 5, 0 + 1 + 0)}
DISMISSED = 57 + 49  # S-17: dismissed or would have been (hearings and special case)
CPS_REFERRED, CPS_PROSECUTED, CPS_GUILTY = 57, 8, 6  # T07-01
IOPC_COMPLETED_2021 = 460  # T03-09
ALLEGATIONS_C_2223, NOT_SPECIAL_OR_UNINVESTIGATED_2223 = 18454, 17653  # T01-36 (2022/23)
IOPC_PROVEN_GM, IOPC_PROVEN_M = 44, 41  # T03-14: proceedings after IOPC investigations

# --- assumptions the figures leave open -------------------------------------------------
RP_SHARE_OF_FORMAL = 0.22 / 0.64  # ASSUMPTION: reflective practice within T01-30's 64%
CONDUCT_IOPC = 0.30  # ASSUMPTION: share of conduct matters referred to the IOPC
CONDUCT_OTHERWISE = 0.25  # ASSUMPTION: conduct matters handled otherwise
DIRECTED = 0.010  # ASSUMPTION: directed investigations are rare
LOCAL_TO_PSU, LOCAL_TO_DPS = 0.40, 0.05  # ASSUMPTION: where returned referrals go
GM_TO_MEETING = 0.0  # ASSUMPTION: a gross misconduct case to answer goes to a hearing


@dataclass(frozen=True)
class Derived:
    path: str
    value: float
    arithmetic: str
    sources: str


def _split(stream: str, iopc: float, investigated: float, w_dps: float,
           w_text: str) -> list[Derived]:
    """DPS and PSU shares so that DPS cases are `w_dps` of Met-investigated cases.

    Met-investigated = direct (psu + dps) + IOPC referrals returned to a Met unit; the
    published MPS mean is the finalised-weighted mean of DPS and Local, so
    w_dps = (MPS - Local) / (DPS - Local).
    """
    local = 1 - INDEPENDENT / REFERRALS - DIRECTED
    via_dps = iopc * (DIRECTED + local * LOCAL_TO_DPS)
    via_psu = iopc * local * LOCAL_TO_PSU
    direct = investigated - iopc
    met = direct + via_dps + via_psu
    dps = w_dps * met - via_dps
    psu = direct - dps
    base = f"assessment.{stream}"
    text = (f"w = {w_text} = {w_dps:.4f}; Met-investigated = direct {direct:.4f} + via IOPC"
            f" (DPS {via_dps:.4f}, PSU {via_psu:.4f}) = {met:.4f}")
    return [
        Derived(f"{base}.dps", dps, f"{text}; dps = w x {met:.4f} - {via_dps:.4f}",
                "S-06/S-07, S-22; ASSUMPTION local routing"),
        Derived(f"{base}.psu", psu, f"psu = direct {direct:.4f} - dps {dps:.4f}",
                "T01-30/S-10, S-06/S-07"),
    ]


def _severity(complaints: list[Derived], iopc_c: float) -> list[Derived]:
    """The severity mix of complaint investigations: T01-36's allegations investigated
    subject to special procedures (ASSUMPTION: cases in the same share, and in 2020/21 as in
    2022/23) are every DPS and IOPC-investigated complaint and the rest of the PSU's;
    conduct matters are subject to special procedures by definition (an indication of
    misconduct is what makes one)."""
    dps, psu = (d.value for d in complaints)
    special = 1 - NOT_SPECIAL_OR_UNINVESTIGATED_2223 / ALLEGATIONS_C_2223
    local = 1 - INDEPENDENT / REFERRALS - DIRECTED
    not_psu = dps + iopc_c * (INDEPENDENT / REFERRALS + DIRECTED + local * LOCAL_TO_DPS)
    at_psu = psu + iopc_c * local * LOCAL_TO_PSU
    not_special = 1 - (special - not_psu) / at_psu
    return [
        Derived("severity.local_not_special.complaints", not_special,
                f"special = 1 - {NOT_SPECIAL_OR_UNINVESTIGATED_2223:,} / {ALLEGATIONS_C_2223:,}"
                f" = {special:.4f} of complaints; less DPS and IOPC-investigated {not_psu:.4f};"
                f" 1 - {special - not_psu:.4f} / PSU {at_psu:.4f}",
                "T01-36, S-22; ASSUMPTION cases as allegations"),
        Derived("severity.local_not_special.conduct", 0.0,
                "a conduct matter indicates misconduct", "docs/SYSTEM.md"),
        Derived("severity.iopc_gross_misconduct", IOPC_PROVEN_GM / (IOPC_PROVEN_GM + IOPC_PROVEN_M),
                f"{IOPC_PROVEN_GM} / ({IOPC_PROVEN_GM} + {IOPC_PROVEN_M}) proven", "T03-14"),
    ]


def derived() -> list[Derived]:
    """Every directly computed parameter, in scenario order."""
    out = [
        Derived("demand.complaints.cases_per_month.0.value", COMPLAINTS_1920_10M / 10,
                f"{COMPLAINTS_1920_10M} / 10 months", "S-01"),
        Derived("demand.complaints.cases_per_month.1.value", COMPLAINTS_2021 / 12,
                f"{COMPLAINTS_2021} / 12", "S-01"),
        Derived("demand.complaints.allegations_per_case",
                (ALLEGATIONS_C_1920 + ALLEGATIONS_C_2021) / (COMPLAINTS_1920_10M + COMPLAINTS_2021),
                "(12,592 + 15,166) / (6,474 + 7,999), both years", "S-01, S-02"),
        Derived("demand.conduct.cases_per_month.0.value", CONDUCT_1920 / 12,
                f"{CONDUCT_1920} / 12", "S-03"),
        Derived("demand.conduct.cases_per_month.1.value", CONDUCT_2021 / 12,
                f"{CONDUCT_2021} / 12", "S-03"),
        Derived("demand.conduct.allegations_per_case",
                (ALLEGATIONS_K_1920 + ALLEGATIONS_K_2021) / (CONDUCT_1920 + CONDUCT_2021),
                "(1,305 + 1,337) / (808 + 907), both years", "S-03, S-04"),
    ]
    iopc_c = (REFERRALS - CONDUCT_IOPC * CONDUCT_2021) / COMPLAINTS_2021
    otherwise_c = FORMAL_NO_INVESTIGATION * (1 - RP_SHARE_OF_FORMAL)
    complaints = _split("complaints", iopc_c, TO_STANDARDS, (MPS_C - LOCAL_C) / (DPS_C - LOCAL_C),
                        f"({MPS_C} - {LOCAL_C}) / ({DPS_C} - {LOCAL_C})")
    out += [
        Derived("assessment.complaints.outside_schedule3", INFORMAL, "15% of allegations",
                "T01-30"),
        Derived("assessment.complaints.otherwise", otherwise_c,
                f"0.64 x (1 - {RP_SHARE_OF_FORMAL:.4f})", "T01-30; ASSUMPTION RP split"),
        Derived("assessment.complaints.reflective_practice",
                FORMAL_NO_INVESTIGATION * RP_SHARE_OF_FORMAL,
                f"0.64 x {RP_SHARE_OF_FORMAL:.4f}", "T01-30; ASSUMPTION RP split"),
        Derived("assessment.complaints.iopc", iopc_c,
                f"({REFERRALS} - {CONDUCT_IOPC} x {CONDUCT_2021} conduct) / {COMPLAINTS_2021}",
                "S-22, S-03, S-01; ASSUMPTION conduct share"),
        *complaints,
        Derived("assessment.conduct.outside_schedule3", 0.0,
                "Schedule 3 informal resolution is for complaints", "docs/SYSTEM.md"),
        Derived("assessment.conduct.otherwise", CONDUCT_OTHERWISE, "ASSUMPTION", "ASSUMPTION"),
        Derived("assessment.conduct.reflective_practice", RP_CONDUCT, "19%", "S-10"),
        Derived("assessment.conduct.iopc", CONDUCT_IOPC, "ASSUMPTION", "ASSUMPTION"),
        *_split("conduct", CONDUCT_IOPC, 1 - RP_CONDUCT - CONDUCT_OTHERWISE,
                (MPS_K - LOCAL_K) / (DPS_K - LOCAL_K),
                f"({MPS_K} - {LOCAL_K}) / ({DPS_K} - {LOCAL_K})"),
        *_severity(complaints, iopc_c),
        Derived("iopc_referral.independent", INDEPENDENT / REFERRALS,
                f"{INDEPENDENT} / {REFERRALS}", "S-22"),
        Derived("iopc_referral.directed", DIRECTED, "ASSUMPTION", "ASSUMPTION"),
        Derived("iopc_referral.local", 1 - INDEPENDENT / REFERRALS - DIRECTED,
                "1 - independent - directed", "S-22"),
        Derived("iopc_referral.local_routing.psu", LOCAL_TO_PSU, "ASSUMPTION", "ASSUMPTION"),
        Derived("iopc_referral.local_routing.dps", LOCAL_TO_DPS, "ASSUMPTION", "ASSUMPTION"),
        Derived("iopc_referral.local_routing.none", 1 - LOCAL_TO_PSU - LOCAL_TO_DPS,
                "1 - psu - dps", "ASSUMPTION"),
        Derived("cps.referral_share.iopc", CPS_REFERRED / IOPC_COMPLETED_2021,
                f"{CPS_REFERRED} referred / {IOPC_COMPLETED_2021} completed", "T07-01, T03-09"),
        Derived("cps.charge_share", round(CPS_PROSECUTED / CPS_REFERRED, 2),
                f"{CPS_PROSECUTED} / {CPS_REFERRED} = 0.1404, to two places (8 events)",
                "T07-01"),
        Derived("cps.conviction_share", CPS_GUILTY / CPS_PROSECUTED,
                f"{CPS_GUILTY} / {CPS_PROSECUTED}", "T07-01"),
    ]
    # a gross misconduct case to answer: a hearing or, evidence incontrovertible, a special
    # case (accelerated) hearing; meetings are for misconduct
    gross = HEARINGS + ACCELERATED
    out.append(Derived("proceedings.route.meeting", GM_TO_MEETING, "ASSUMPTION", "ASSUMPTION"))
    for route, n in (("hearing", HEARINGS), ("accelerated", ACCELERATED)):
        out.append(Derived(f"proceedings.route.{route}", (1 - GM_TO_MEETING) * n / gross,
                           f"{n} / {gross} hearings and special case, both years", "S-15"))
    for route, (yes, no) in PROVEN.items():
        out.append(Derived(f"proceedings.proven.{route}", yes / (yes + no),
                           f"{yes} / ({yes} + {no}), both years", "S-16"))
    decided = PROVEN["hearing"][0] + PROVEN["accelerated"][0]
    for route in ("hearing", "accelerated"):
        out.append(Derived(f"proceedings.dismissed_if_proven.{route}", DISMISSED / decided,
                           f"{DISMISSED} / {decided} proven at hearings and special case",
                           "S-17, S-16"))
    return out


__all__ = ["Derived", "derived"]
