"""Champion and challenger: how each arm of a workflow version does, and whether the
difference from the first arm (the champion) is more than chance.

An account counts once, from its first entry into the version. "Paying" is an account with
a succeeded payment within ``days`` of entry; arms are compared on that rate with a
two-proportion z-test (normal approximation), called significant at the 5% level once both
arms have at least ``MIN_ACCOUNTS`` accounts.
"""

from __future__ import annotations

import math
from decimal import Decimal

import msgspec

from domain.errors import NotFound
from domain.money import minor_digits
from domain.service import Service
from domain.workflows import queries
from domain.workflows.plans import branch_of
from domain.workflows.schemas import Definition

MIN_ACCOUNTS = 30


class Comparison(msgspec.Struct, kw_only=True):
    """This arm against the champion: the difference in paying rate, its z score and
    two-sided p value, and a verdict."""

    difference: float
    z: float | None
    p_value: float | None
    significant: bool
    verdict: str


class ArmResult(msgspec.Struct, kw_only=True):
    arm: str
    accounts: int
    paying: int
    paying_rate: float
    collected: dict[str, Decimal]
    promises_kept: int
    versus_champion: Comparison | None = None


class Report(msgspec.Struct, kw_only=True):
    workflow_id: int
    version: int
    days: int
    arms: list[ArmResult]


def compare(champion: ArmResult, challenger: ArmResult) -> Comparison:
    difference = challenger.paying_rate - champion.paying_rate
    n1, n2 = champion.accounts, challenger.accounts
    if min(n1, n2) < MIN_ACCOUNTS:
        return Comparison(
            difference=difference,
            z=None,
            p_value=None,
            significant=False,
            verdict=f"too early to tell: each arm needs {MIN_ACCOUNTS} accounts",
        )
    pooled = (champion.paying + challenger.paying) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return Comparison(
            difference=difference, z=0.0, p_value=1.0, significant=False, verdict="no difference"
        )
    z = difference / spread
    p_value = math.erfc(abs(z) / math.sqrt(2))
    significant = p_value < 0.05
    if not significant:
        verdict = "no significant difference yet"
    else:
        verdict = "better than the champion" if difference > 0 else "worse than the champion"
    return Comparison(
        difference=difference, z=z, p_value=p_value, significant=significant, verdict=verdict
    )


class ReportService(Service):
    async def report(self, workflow_id: int, *, version: int | None, days: int) -> Report:
        from domain.workflows.service import WorkflowService

        workflow = await self.using(WorkflowService).get(workflow_id)
        version = version or workflow.version
        stored = await queries.version_definition(self.conn, workflow_id, version)
        if stored is None:
            raise NotFound(f"workflow {workflow_id} has no version {version}")
        definition = msgspec.convert(stored["definition"], Definition)
        branch = branch_of(definition)
        names = [arm.name for arm in branch.arms] if branch else [""]
        outcomes = {
            r["arm"]: r for r in await queries.arm_outcomes(self.conn, workflow_id, version, days)
        }
        collected: dict[str, dict[str, Decimal]] = {}
        for row in await queries.arm_collections(self.conn, workflow_id, version, days):
            quantum = Decimal(1).scaleb(-minor_digits(row["currency"]))
            collected.setdefault(row["arm"], {})[row["currency"]] = row["amount"].quantize(quantum)
        arms = []
        for name in names:
            row = outcomes.get(name)
            accounts = row["accounts"] if row else 0
            paying = row["paying"] if row else 0
            arms.append(
                ArmResult(
                    arm=name,
                    accounts=accounts,
                    paying=paying,
                    paying_rate=paying / accounts if accounts else 0.0,
                    collected=collected.get(name, {}),
                    promises_kept=row["kept"] if row else 0,
                )
            )
        for challenger in arms[1:]:
            challenger.versus_champion = compare(arms[0], challenger)
        return Report(workflow_id=workflow_id, version=version, days=days, arms=arms)
