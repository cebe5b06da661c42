"""The four-question diagnostic: should people do this step, or code?

Two questions pull towards people (is the outcome a matter of judgment? are inputs and paths
unpredictable?) and two towards code (is it repetitive with clear rules? is consistency what
counts most?). The balance gives a recommendation; a tie with pulls both ways means the step
is really two steps: a human core and an automatable remainder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Recommendation = Literal["orchestral", "algorithmic", "split"]

QUESTIONS: tuple[tuple[str, str], ...] = (
    ("subjective", "Is the outcome subjective — does its quality rest on human judgment?"),
    ("variable", "Are the inputs and the path through the work highly variable or unpredictable?"),
    ("repetitive", "Is the procedure repetitive, with rules and decision points you could write down?"),
    ("consistency_critical", "Is consistency — no human error, the same result every time — what counts most?"),
)


@dataclass(frozen=True)
class Advice:
    recommendation: Recommendation
    reason: str

    @property
    def label(self) -> str:
        return {
            "orchestral": "orchestral (people do it)",
            "algorithmic": "algorithmic (code does it)",
            "split": "split the step: people for the judgment, code for the rules",
        }[self.recommendation]


def _named(flags: dict[str, bool], names: tuple[str, ...]) -> str:
    words = {
        "subjective": "subjective",
        "variable": "variable",
        "repetitive": "repetitive",
        "consistency_critical": "consistency-critical",
    }
    chosen = [words[n] for n in names if flags[n]]
    return " and ".join(chosen)


def recommend(subjective: bool, variable: bool, repetitive: bool, consistency_critical: bool) -> Advice:
    """Recommend who should do a step, with the reason in one sentence."""
    flags = {
        "subjective": subjective,
        "variable": variable,
        "repetitive": repetitive,
        "consistency_critical": consistency_critical,
    }
    people = int(subjective) + int(variable)
    code = int(repetitive) + int(consistency_critical)
    human_side = _named(flags, ("subjective", "variable"))
    code_side = _named(flags, ("repetitive", "consistency_critical"))
    if people and code and people == code:
        return Advice(
            "split",
            f"It is {human_side} yet also {code_side}: let people own the judgment and "
            "automate the rule-bound remainder as its own step.",
        )
    if people > code:
        return Advice(
            "orchestral",
            f"It is {human_side}, so it needs judgment and adaptation that rules cannot "
            "capture; conduct it with people.",
        )
    if code > people:
        return Advice(
            "algorithmic",
            f"It is {code_side} with nothing that needs judgment, so code will do it "
            "faster and more consistently than people.",
        )
    return Advice(
        "orchestral",
        "Nothing about it calls for automation yet: keep it with people, and revisit once it "
        "repeats with settled rules.",
    )
