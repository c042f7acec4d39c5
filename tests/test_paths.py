"""The dotted paths levers, sweeps, calibration and goal-seeking share."""

from __future__ import annotations

import pytest

from sim.model.fields import get_path, set_path, values_at


def data() -> dict:
    return {"pools": {"iopc": {"staff": [{"value": 30}, {"value": 32}], "cases_per_staff": 2},
                      "dps": {"staff": [{"value": 100}], "cases_per_staff": 4}}}


def test_paths_read_keys_list_indices_and_wildcards() -> None:
    d = data()
    assert get_path(d, "pools.iopc.staff.1.value") == 32
    assert values_at(d, "pools.*.cases_per_staff") == [2, 4]
    assert values_at(d, "pools.iopc.staff.*.value") == [30, 32]
    assert values_at(d, "pools.psu.cases_per_staff") == []
    with pytest.raises(KeyError):
        get_path(d, "pools.psu.cases_per_staff")


def test_set_path_sets_every_field_a_path_reaches() -> None:
    d = data()
    set_path(d, "pools.iopc.staff.*.value", 40)
    set_path(d, "pools.*.cases_per_staff", 3)
    set_path(d, "pools.dps.staff.0.value", 90)
    assert values_at(d, "pools.iopc.staff.*.value") == [40, 40]
    assert values_at(d, "pools.*.cases_per_staff") == [3, 3]
    assert get_path(d, "pools.dps.staff.0.value") == 90
    with pytest.raises(KeyError):
        set_path(d, "pools.psu.cases_per_staff", 1)
