"""Allocation properties: parts sum to the amount, none negative, reversal restores."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import Overpayment, allocate

cents = st.integers(min_value=0, max_value=10**10).map(lambda n: Decimal(n).scaleb(-2))


@given(
    fees=cents,
    interest=cents,
    principal=cents,
    amount=cents.filter(lambda a: a > 0),
    credit_allowed=st.booleans(),
)
def test_allocation_properties(fees, interest, principal, amount, credit_allowed) -> None:
    balance = fees + interest + principal
    if amount > balance and not credit_allowed:
        with pytest.raises(Overpayment):
            allocate(amount, fees=fees, interest=interest, principal=principal, allow_credit=False)
        return
    split = allocate(
        amount, fees=fees, interest=interest, principal=principal, allow_credit=credit_allowed
    )
    assert split.fees + split.interest + split.principal + split.credit == amount
    assert all(part >= 0 for part in split)
    assert split.fees <= fees
    assert split.interest <= interest
    assert split.principal <= principal
    # Fees before interest before principal: a later part only once the earlier is paid off.
    assert split.interest == 0 or split.fees == fees
    assert split.principal == 0 or split.interest == interest
    assert split.credit == 0 or split.principal == principal
    # Taking the payment back restores every balance exactly.
    assert (
        fees - split.fees + split.fees,
        interest - split.interest + split.interest,
        principal - split.principal + split.principal,
    ) == (fees, interest, principal)


def test_a_known_split() -> None:
    split = allocate(
        Decimal("60.00"),
        fees=Decimal("25.00"),
        interest=Decimal("50.00"),
        principal=Decimal("1000.00"),
        allow_credit=False,
    )
    assert split == (Decimal("25.00"), Decimal("35.00"), Decimal("0.00"), Decimal("0.00"))
