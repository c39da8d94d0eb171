"""Allocation properties: parts sum to the amount, none negative, reversal restores."""

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.money import Overpayment, allocate, display

cents = st.integers(min_value=0, max_value=10**10).map(lambda n: Decimal(n).scaleb(-2))
D = Decimal


@given(
    fees=cents,
    interest=cents,
    principal=cents,
    amount=cents.filter(lambda a: a > 0),
    credit_allowed=st.booleans(),
)
# The balance (1075.00) exactly, a cent under it and a cent over it, with and without credit.
@example(D("25.00"), D("50.00"), D("1000.00"), D("1075.00"), False)
@example(D("25.00"), D("50.00"), D("1000.00"), D("1074.99"), False)
@example(D("25.00"), D("50.00"), D("1000.00"), D("1075.01"), False)
@example(D("25.00"), D("50.00"), D("1000.00"), D("1075.01"), True)
# Each part's own edge: the fees exactly, a cent into the interest, a cent into principal.
@example(D("25.00"), D("50.00"), D("1000.00"), D("25.00"), False)
@example(D("25.00"), D("50.00"), D("1000.00"), D("25.01"), False)
@example(D("25.00"), D("50.00"), D("1000.00"), D("75.01"), False)
# Nothing owed: a cent is an overpayment.
@example(D("0.00"), D("0.00"), D("0.00"), D("0.01"), False)
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


@pytest.mark.parametrize(
    ("fees", "interest", "principal", "unit"),
    [
        ("500", "1500", "100000", "1"),  # JPY: no decimals
        ("25.00", "50.00", "1000.00", "0.01"),  # USD
        ("1.250", "3.125", "95.625", "0.001"),  # BHD: three decimals
    ],
    ids=["JPY", "USD", "BHD"],
)
def test_one_minor_unit_over_the_balance_is_an_overpayment(fees, interest, principal, unit) -> None:
    parts = {"fees": D(fees), "interest": D(interest), "principal": D(principal)}
    balance = sum(parts.values())
    one = D(unit)
    assert allocate(balance, **parts, allow_credit=False) == (*parts.values(), 0)
    under = allocate(balance - one, **parts, allow_credit=False)
    assert (under.principal, under.credit) == (parts["principal"] - one, 0)
    with pytest.raises(Overpayment) as refused:
        allocate(balance + one, **parts, allow_credit=False)
    assert refused.value.field == "amount"
    assert allocate(balance + one, **parts, allow_credit=True).credit == one


@pytest.mark.parametrize(
    ("amount", "over"),
    [("1075.01", "0.01"), ("1075.99", "0.99"), ("1076.00", "1.00"), ("2000.00", "925.00")],
)
def test_an_overpayment_says_by_how_much_and_carries_the_whole_balance(amount, over) -> None:
    with pytest.raises(Overpayment) as refused:
        allocate(
            D(amount),
            fees=D("25.00"),
            interest=D("50.00"),
            principal=D("1000.00"),
            allow_credit=False,
        )
    assert refused.value.field == "amount"
    assert refused.value.detail == f"the payment is {over} more than the balance of 1075.00"
    assert refused.value.extra == {"balance": "1075.00"}


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("99621.5700", "USD", "$99,621.57"),
        ("377.4300", "USD", "$377.43"),
        ("5000", "JPY", "¥5,000"),
        ("12.5", "BHD", "BHD12.500"),
        ("1075", "EUR", "€1,075.00"),
        ("0", "USD", "$0.00"),
    ],
)
def test_an_amount_is_shown_in_its_currency_s_format_and_digits(amount, currency, shown) -> None:
    assert display(D(amount), currency) == shown


def test_an_overpayment_in_a_currency_says_both_amounts_in_its_format() -> None:
    with pytest.raises(Overpayment) as refused:
        allocate(
            D("99999.00"),
            fees=D("25.00"),
            interest=D("50.00"),
            principal=D("302.43"),
            allow_credit=False,
            currency="USD",
        )
    assert refused.value.detail == "the payment is $99,621.57 more than the balance of $377.43"
