"""The algorithmic track of client onboarding: provision an account within the plan's rules.

A client the rules do not cover (more seats than the plan allows) is not guessed at: the step
fails without retrying, and a person takes it over from the escalation message.
"""

from __future__ import annotations

import hashlib

from bot.automations.context import AutomationContext, AutomationError

PLAN_SEAT_LIMITS = {"starter": 10, "growth": 200, "enterprise": 100_000}


def account_id(company: str, idempotency_key: str) -> str:
    """The same company and step attempt always get the same id, so a retry creates nothing new."""
    digest = hashlib.sha256(f"{company.strip().lower()}|{idempotency_key}".encode()).hexdigest()
    return f"acct_{digest[:12]}"


def provision_account(ctx: AutomationContext) -> dict[str, object]:
    company = str(ctx.params.get("company", "")).strip()
    plan = str(ctx.params.get("plan", "starter"))
    seats = int(ctx.params.get("seats", 1))
    if not company:
        raise AutomationError("no company name given", retryable=False)
    limit = PLAN_SEAT_LIMITS.get(plan)
    if limit is None:
        raise AutomationError(f"unknown plan {plan!r}", retryable=False)
    if seats > limit:
        raise AutomationError(
            f"{seats} seats is more than the {plan} plan allows ({limit}); a person must decide",
            retryable=False,
        )
    ident = account_id(company, ctx.idempotency_key)
    ctx.logger.info("provisioned %s for %s (%s seats)", ident, company, seats)
    return {"account_id": ident, "seats": seats, "plan": plan}
