"""Workflow conditions (CEL) and the values they see: errors pointing at their place, money in
exact minor units, and which account an event is about."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from domain.workflows.conditions import (
    MAX_LIST_ELEMENTS,
    Batch,
    ConditionError,
    all_hold,
    check,
    code_only,
    context,
    costly,
    holds,
    minor_units,
)
from domain.workflows.plans import account_of
from domain.workflows.variables import event_variables, sample

TYPICAL = (
    'account.days_past_due >= 30 && account.status == "active" && '
    '!("vip" in debtor.flags) && account.balance_minor > 50000'
)


def refusal(source: str) -> ConditionError:
    with pytest.raises(ConditionError) as caught:
        check(source, field="conditions[0]", sample=sample("payment.received"))
    return caught.value


def test_a_typical_condition_passes_and_decides_on_each_side_of_its_limits() -> None:
    check(TYPICAL, field="conditions[0]", sample=sample("payment.received"))
    values = sample("payment.received")
    values["account"].update(days_past_due=30, balance_minor=50001)
    assert holds(TYPICAL, context(values)) is True
    values["account"].update(days_past_due=29)
    assert holds(TYPICAL, context(values)) is False
    values["account"].update(days_past_due=30, balance_minor=50000)
    assert holds(TYPICAL, context(values)) is False
    values["account"].update(balance_minor=50001)
    values["debtor"]["flags"] = ["vip"]
    assert holds(TYPICAL, context(values)) is False


def test_a_syntax_error_names_its_line_and_column() -> None:
    error = refusal("account.days_past_due >= ")
    assert (error.line, error.column, error.field) == (1, 26, "conditions[0]")
    assert error.detail.startswith("conditions[0]: Syntax error: mismatched input '<EOF>'")
    assert error.detail.endswith("at line 1, column 26")
    assert error.extra == {"line": 1, "column": 26}


def test_an_unknown_name_or_field_is_pointed_at() -> None:
    error = refusal('account.status == "active" && balance > 3')
    assert (error.line, error.column) == (1, 31)
    assert error.detail == (
        "conditions[0]: unknown name 'balance' at line 1, column 31 "
        "(conditions can use account, debtor, event, tenant)"
    )
    error = refusal("account.days_past_due > 1 && account.balanse_minor > 2")
    assert (error.line, error.column) == (1, 38)
    assert error.detail == "conditions[0]: there is no field 'balanse_minor' at line 1, column 38"


def test_a_type_error_is_found_even_behind_a_false_clause() -> None:
    error = refusal("account.days_past_due > 1 &&\n  account.status + 1 == 2")
    assert (error.line, error.column) == (2, 3)
    assert error.detail.startswith("conditions[0]: Unsupported operation: string + int")


def test_a_condition_must_be_true_or_false() -> None:
    error = refusal("account.days_past_due")
    assert error.detail == "conditions[0]: the condition gives a number, not true or false"


def test_keys_of_custom_fields_and_event_data_vary_by_row() -> None:
    for source in (
        'account.custom.tier == "gold"',
        'has(debtor.custom.segment) && debtor.custom.segment == "a"',
        'event.data.amount == "10.00"',
        "account.custom['tier'] == 'gold'",
    ):
        check(source, field="conditions[0]", sample=sample("payment.received"))


def test_nul_is_refused() -> None:
    assert refusal("true\x00").detail == "a condition cannot contain NUL"


def test_an_error_at_run_time_is_a_value_error_with_cels_reason() -> None:
    values = sample("payment.received")
    with pytest.raises(ValueError, match="no field 'tier'"):
        holds("account.custom.tier == 1", context(values))
    with pytest.raises(ValueError, match="not true or false"):
        holds("account.days_past_due", context(values))


@pytest.mark.parametrize(
    ("amount", "digits", "minor"),
    [
        (Decimal("0.29"), 2, 29),  # 0.29 * 100 in binary floating point is 28.999…
        (Decimal("1.15"), 2, 115),
        (Decimal("500.00"), 2, 50000),
        (Decimal("500.01"), 2, 50001),
        (Decimal("1000"), 0, 1000),
        (Decimal("1.234"), 3, 1234),
        (Decimal("99999999999999.99"), 2, 9999999999999999),
    ],
)
def test_money_reaches_cel_in_exact_minor_units(amount: Decimal, digits: int, minor: int) -> None:
    assert minor_units(amount, digits) == minor


def test_an_events_amount_is_in_minor_units_of_its_currency() -> None:
    event_id = uuid.uuid4()
    payment = {"payment": {"amount": "0.29", "currency": "USD", "account_id": 7}}
    assert event_variables(event_id, "payment.received", payment)["amount_minor"] == 29
    assert (
        event_variables(event_id, "payment.received", {"amount": "5", "currency": "JPY"})[
            "amount_minor"
        ]
        == 5
    )
    assert event_variables(event_id, "promise.broken", {})["amount_minor"] is None


@pytest.mark.parametrize(
    ("type", "data", "account"),
    [
        ("account.updated", {"id": 5, "debtor_id": 9}, 5),
        ("payment.received", {"payment": {"account_id": 6}, "account": {"id": 6}}, 6),
        ("payment.failed", {"payment": {"account_id": 7}}, 7),
        ("promise.broken", {"promise": {"account_id": 8}, "account": {"id": 8}}, 8),
        ("interaction.logged", {"id": 1, "account_id": 9}, 9),
        ("task.completed", {"id": 2, "account_id": 10, "account": {"id": 10}}, 10),
        # The debtor's page's own copy of a payment names no account: not a trigger.
        ("payment.received", {"payment": {"id": 3}, "account": {"balance": "1.00"}}, None),
        ("account.updated", {"id": True}, None),
        ("account.days_past_due", {"workflow_id": 3, "account_id": 11}, 11),
        ("promise.due_in", {"workflow_id": 3, "account_id": 12, "promise": {"id": 1}}, 12),
        ("payment.received", {"account_id": "6"}, None),
    ],
)
def test_the_account_an_event_is_about(type: str, data: dict, account: int | None) -> None:
    assert account_of(type, data) == account


# Many conditions at once: what each gives must be what `holds` gives it alone.

MIXED = [
    "account.days_past_due >= 30",
    'account.status == "closed"',
    "account.days_past_due >= 30",  # the same expression twice is evaluated once
    "account.status",  # text, not true or false
    "account.nope == 1",  # no such field
    "event.amount_minor > 1000 // a comment ends at its line",
]


def test_a_batch_gives_each_condition_what_it_gives_alone() -> None:
    values = sample("payment.received")
    values["account"].update(days_past_due=30)
    values["event"]["amount_minor"] = 1001
    batch = Batch(MIXED)
    assert batch.sources == tuple(dict.fromkeys(MIXED))
    truth = batch.truth(batch.context(values))
    alone = context(values)
    assert truth["account.days_past_due >= 30"] is True
    assert truth['account.status == "closed"'] is False
    assert truth["event.amount_minor > 1000 // a comment ends at its line"] is True
    for source, message in (
        ("account.status", "the condition gives text, not true or false"),
        ("account.nope == 1", "there is no field 'nope'"),
    ):
        with pytest.raises(ValueError, match=message):
            holds(source, alone)
        assert isinstance(truth[source], ValueError)
        assert str(truth[source]) == message
    values["account"].update(days_past_due=29)
    values["event"]["amount_minor"] = 1000
    truth = batch.truth(batch.context(values))
    assert truth["account.days_past_due >= 30"] is False
    assert truth["event.amount_minor > 1000 // a comment ends at its line"] is False


def test_a_batch_whose_conditions_all_evaluate_gives_their_truth_in_order() -> None:
    values = sample("payment.received")
    values["account"].update(id=7)
    sources = [f"account.id % 4 == {n}" for n in range(4)]
    truth = Batch(sources).truth(Batch(sources).context(values))
    assert truth == {s: s.endswith("== 3") for s in sources}


def test_a_batch_context_holds_only_the_variables_its_conditions_use() -> None:
    values = sample("payment.received")
    batch = Batch(["account.id > 0", 'tenant.name == ""'])
    assert batch.uses == {"account", "tenant"}
    truth = batch.truth(batch.context(values))
    assert truth == {"account.id > 0": True, 'tenant.name == ""': True}
    # Unknown to the batch's context: a condition it was not made for fails there.
    with pytest.raises(ValueError, match="debtor"):
        holds('debtor.country == "US"', batch.context(values))
    assert Batch([]).truth(Batch([]).context(values)) == {}


def test_all_hold_takes_the_conditions_in_order_as_all_would() -> None:
    broken = ValueError("there is no field 'nope'")
    truth = {"a": True, "b": False, "c": broken}
    assert all_hold([], truth) is True
    assert all_hold(["a"], truth) is True
    assert all_hold(["a", "b"], truth) is False
    assert all_hold(["b", "c"], truth) is False  # false before the fault: never reached
    with pytest.raises(ValueError, match="nope") as caught:
        all_hold(["a", "c", "b"], truth)
    assert caught.value is broken


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("[1, 2][5] == 1", "index out of bounds"),
        ("9223372036854775807 + account.days_past_due + 1 > 0", "overflow"),
        ("account.days_past_due / 0 > 1", "division by zero"),
    ],
)
def test_any_fault_of_the_expression_at_run_time_is_refused_never_raised(
    source: str, reason: str
) -> None:
    # CEL's faults reach Python as exceptions of many kinds (IndexError, OverflowError, ...):
    # each is the condition's, said to its author, and a workflow skips it.
    assert reason in refusal(source).detail.lower()
    values = sample("payment.received")
    with pytest.raises(ValueError, match="(?i)" + reason):
        holds(source, context(values))
    batch = Batch([source, "true"])
    truth = batch.truth(batch.context(values))
    assert isinstance(truth[source], ValueError)
    assert truth["true"] is True


def test_a_loop_within_a_loop_is_refused_one_loop_is_not() -> None:
    nested = "[1, 2].exists(a, [1, 2].exists(b, a == b))"
    assert refusal(nested).detail == (
        "conditions[0]: at most one of all, exists, exists_one, map and filter in an "
        "expression (this one has 2)"
    )
    check(
        "[1, 2, 3].exists(a, a == account.days_past_due)",
        field="c",
        sample=sample("payment.received"),
    )


@pytest.mark.parametrize(
    "nested",
    [
        # A comment between the dot and the name hid the inner loops from a plain search.
        "[1, 2].map(a, [1, 2].//\nmap(b, [1, 2].//\nmap(c, 1))).size() > 0",
        "[1, 2].map(a, [1, 2]./* no block comments in CEL */map(b, 1)).size() > 0",
        "[1, 2].exists(a, [1, 2] . exists ( b, a == b))",
    ],
)
def test_a_loop_within_a_loop_is_refused_whatever_lies_between_its_words(nested: str) -> None:
    assert "at most one of all, exists" in refusal(nested).detail or "at line" in (
        refusal(nested).detail
    )


def test_loops_named_inside_strings_and_comments_are_not_loops() -> None:
    check(
        '"x.map(a, 1)" != "" && [1, 2].exists(a, a == 1) // .all(b, true)',
        field="c",
        sample=sample("payment.received"),
    )
    assert code_only('a == "x//y" // c.map(\n') == 'a == "    "          \n'
    assert code_only("r'\\'.size() > 0 && '''a'b'''") == "r' '.size() > 0 && '''   '''"


def test_lists_written_out_are_bounded_on_both_sides_of_the_limit() -> None:
    values = ", ".join(["1"] * MAX_LIST_ELEMENTS)
    check(f"account.days_past_due in [{values}]", field="c", sample=sample("payment.received"))
    over = f"account.days_past_due in [{values}, 1]"
    assert refusal(over).detail == (
        f"conditions[0]: at most {MAX_LIST_ELEMENTS} elements written out in lists "
        f"(this expression has {MAX_LIST_ELEMENTS + 1})"
    )
    nested = "[[1, 2], [3]].size() > 0"
    assert costly(nested) is None
