"""The base of every model read from a file (scenarios, distributions, sweeps, briefs).

Unknown keys are errors, so a misspelt field is reported rather than silently ignored; a
validated model cannot change afterwards (derive a new one, e.g. `Scenario.with_changes`);
a field with an alias (`from`, `mean`) may also be given by its Python name.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


__all__ = ["Frozen"]
