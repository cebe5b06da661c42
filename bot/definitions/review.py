"""Review of automations (`review:`), the mirror image of shadow runs: a person of role `by`
confirms or corrects a sample of an automated step's outputs before the run goes on.

`sample` is a percentage, `N%` from 1% to 100% (default 100%). Which runs are reviewed is
chosen by a hash of the run id and step id (see `bot.engine.review.sampled`), never by chance:
the same run and step are always in the sample or always out of it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

PERCENT_PATTERN = r"^\s*([0-9]+(\.[0-9]+)?)\s*%\s*$"


def parse_percent(value: Any) -> float:
    """`10%` (or the number 10) as 10.0; from 1 to 100."""
    if isinstance(value, bool):
        raise PydanticCustomError("percent", "`sample` is a percentage such as `10%`", {})
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        found = re.match(PERCENT_PATTERN, str(value))
        if found is None:
            raise PydanticCustomError("percent", "`{value}` is not a percentage: write it as `10%`", {"value": value})
        number = float(found.group(1))
    if not 1 <= number <= 100:
        raise PydanticCustomError("percent", "`sample` is between 1% and 100% (found {value}%)", {"value": f"{number:g}"})
    return number


Percent = Annotated[
    float,
    BeforeValidator(parse_percent),
    PlainSerializer(lambda v: f"{v:g}%", return_type=str),
    WithJsonSchema({"type": "string", "pattern": PERCENT_PATTERN, "examples": ["10%", "100%"]}),
]


class Review(BaseModel):
    """A person of role `by` confirms or corrects a sample of this automation's outputs."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    by: str = Field(description="The role whose members review (confirm or correct) the outputs.")
    sample: Percent = Field(default=100.0, description="The share of runs reviewed, `1%` to `100%`; chosen by a "
                            "hash of the run and step ids, so the same run is always in or out.")
