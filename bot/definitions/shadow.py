"""How a shadow's outputs are compared with a person's, field by field (`compare:`).

`exact` (the default) wants equal values; `normalized` folds case, spaces and punctuation
first; `number: {tolerance: X}` accepts numbers at most X apart; `set` ignores order and
repeats in lists (or comma-separated text).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Tolerance(_Strict):
    tolerance: float = Field(default=0, ge=0, description="How far apart two numbers may be and still agree.")


class NumberCompare(_Strict):
    number: Tolerance = Field(description="Compare as numbers, within `tolerance`.")


CompareMode = Literal["exact", "normalized", "set"] | NumberCompare
