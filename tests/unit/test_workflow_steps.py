"""Workflow steps that need no database: arms, waits, templates, retries, the SMTP address."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from domain.workflows import templates
from domain.workflows.messaging import Smtp, retry_delay
from domain.workflows.plans import arm_for, steps_for, wait_until
from domain.workflows.schemas import Arm, Branch, CreateTask, Definition, SendSms, Trigger, Wait

NEW_YORK = ZoneInfo("America/New_York")


def branch(*weights: int) -> Branch:
    return Branch(arms=[Arm(name=f"arm{i}", weight=w) for i, w in enumerate(weights)])


def test_ten_thousand_accounts_split_fifty_fifty_land_within_two_percent_of_half() -> None:
    split = branch(50, 50)
    counts = {"arm0": 0, "arm1": 0}
    for account_id in range(1, 10_001):
        counts[arm_for(41, 3, account_id, split)] += 1
    assert 4_900 <= counts["arm0"] <= 5_100
    assert counts["arm0"] + counts["arm1"] == 10_000


def test_an_account_always_lands_in_the_same_arm_of_a_version() -> None:
    split = branch(50, 50)
    first = [arm_for(41, 3, a, split) for a in range(1, 501)]
    again = [arm_for(41, 3, a, split) for a in reversed(range(1, 501))]
    assert first == list(reversed(again))
    # Another version deals afresh (some accounts change arm).
    other = [arm_for(41, 4, a, split) for a in range(1, 501)]
    assert first != other


def test_weights_are_honoured() -> None:
    split = branch(1, 3)
    counts = {"arm0": 0, "arm1": 0}
    for account_id in range(1, 8_001):
        counts[arm_for(7, 1, account_id, split)] += 1
    assert 1_840 <= counts["arm0"] <= 2_160  # a quarter, within 2% of all


def test_a_runs_steps_are_its_arms_in_place_of_the_branch() -> None:
    sms, task, wait = SendSms(template_id=1), CreateTask(), Wait(minutes=5)
    definition = Definition(
        trigger=Trigger(type="promise.broken"),
        steps=[
            wait,
            Branch(arms=[Arm(name="a", weight=1, steps=[sms]), Arm(name="b", weight=1)]),
            task,
        ],
    )
    assert steps_for(definition, "a") == [wait, sms, task]
    assert steps_for(definition, "b") == [wait, task]


@pytest.mark.parametrize(
    ("now_local", "until", "expected_local"),
    [
        ("2026-12-01T07:59", "08:00", "2026-12-01T08:00"),
        ("2026-12-01T08:00", "08:00", "2026-12-02T08:00"),
        ("2026-12-01T21:30", "08:00", "2026-12-02T08:00"),
        # A local date and time, and one already past (no wait at all).
        ("2026-12-01T10:00", "2026-12-24T09:00", "2026-12-24T09:00"),
        ("2026-12-01T10:00", "2026-11-30T09:00", "2026-12-01T10:00"),
        # Across the change to winter time: still 08:00 on the wall clock.
        ("2026-10-31T09:00", "08:00", "2026-11-01T08:00"),
    ],
)
def test_a_wait_until_is_in_the_debtors_time_zone(
    now_local: str, until: str, expected_local: str
) -> None:
    now = dt.datetime.fromisoformat(now_local).replace(tzinfo=NEW_YORK).astimezone(dt.UTC)
    expected = dt.datetime.fromisoformat(expected_local).replace(tzinfo=NEW_YORK)
    assert wait_until(until, now, NEW_YORK) == expected.astimezone(dt.UTC)


def test_a_template_with_an_unknown_variable_or_field_is_refused() -> None:
    sample = templates.sample()
    with pytest.raises(templates.TemplateInvalid) as caught:
        templates.check("Hi {{ debtor.first_name }}, {{ balance }}", field="body", sample=sample)
    assert caught.value.detail == (
        "body: unknown variable 'balance' (templates can use account, debtor, tenant, "
        "payment, promise, payment_link, opt_out_link)"
    )
    with pytest.raises(templates.TemplateInvalid) as caught:
        templates.check("{{ account.balanse }}", field="body", sample=sample)
    assert caught.value.detail == "body: unknown field 'balanse'"
    with pytest.raises(templates.TemplateInvalid) as caught:
        templates.check("line one\n{% if %}", field="body", sample=sample)
    assert caught.value.extra == {"line": 2}
    assert caught.value.field == "body"


def test_the_sandbox_refuses_reaching_into_python() -> None:
    with pytest.raises(templates.TemplateInvalid) as caught:
        templates.check("{{ account.__class__.__mro__ }}", field="body", sample=templates.sample())
    assert caught.value.detail.startswith("body: ")


def test_a_template_renders_money_already_formatted() -> None:
    text = templates.render(
        "{{ debtor.first_name }} owes {{ account.balance }}", templates.sample()
    )
    assert text == "Ada owes $100.00"
    assert templates.money(__import__("decimal").Decimal("1234.5"), "EUR") == "€1,234.50"
    assert templates.uses("Pay here: {{ payment_link }}", "payment_link") is True
    assert templates.uses("Hello {{ debtor.name }}", "payment_link") is False


def test_a_failed_send_is_tried_again_later_and_later_up_to_an_hour() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_the_smtp_address_gives_host_port_credentials_and_tls() -> None:
    smtp = Smtp("smtp://user%40x:p%3Ass@mail.example:2525?starttls=true", "Recoup <r@x>")
    assert (smtp.hostname, smtp.port, smtp.username, smtp.password) == (
        "mail.example",
        2525,
        "user@x",
        "p:ss",
    )
    assert (smtp.use_tls, smtp.start_tls) == (False, True)
    tls = Smtp("smtps://mail.example", "r@x")
    assert (tls.port, tls.use_tls, tls.start_tls, tls.username) == (465, True, False, None)
    with pytest.raises(ValueError, match="smtp://user:password@host:port"):
        Smtp("http://mail.example", "r@x")


def test_arms_are_judged_only_once_each_has_thirty_accounts() -> None:
    from domain.workflows.report import ArmResult, compare

    def arm(accounts: int, paying: int) -> ArmResult:
        return ArmResult(
            arm="x",
            accounts=accounts,
            paying=paying,
            paying_rate=paying / accounts,
            collected={},
            promises_kept=0,
        )

    early = compare(arm(29, 0), arm(30, 30))
    assert (early.significant, early.z, early.verdict) == (
        False,
        None,
        "too early to tell: each arm needs 30 accounts",
    )
    judged = compare(arm(30, 3), arm(30, 15))
    assert judged.significant is True
    assert judged.verdict == "better than the champion"
    assert round(judged.z, 3) == 3.381  # 0.4 / sqrt(0.3 * 0.7 * (2 / 30))
    assert round(judged.p_value, 5) == 0.00072
    close = compare(arm(100, 30), arm(100, 35))
    assert (close.significant, close.verdict) == (False, "no significant difference yet")
    worse = compare(arm(200, 100), arm(200, 60))
    assert (worse.significant, worse.verdict) == (True, "worse than the champion")
    flat = compare(arm(40, 0), arm(40, 0))
    assert (flat.z, flat.p_value, flat.verdict) == (0.0, 1.0, "no difference")


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ 1/0 }}", "zerodivision error: division by zero"),
        ("{{ 'a' + 1 }}", 'type error: can only concatenate str (not "int") to str'),
        ("{{ [1, 2][5] }}", "list object has no element 5"),
        ("{{ 'a' * 20001 }}", "not allowed in a template: a repeat beyond 20,000 characters"),
        ("{{ 7 ** 65 }}", "not allowed in a template: a power above 64"),
        ("{{ '%01000d' % 1 }}", "not allowed in a template: a width or precision above 999"),
        ("{{ '{:>1000}'.format(1) }}", "not allowed in a template: a width or precision above"),
        ("{{ '%-1000s'|format(1) }}", "not allowed in a template: a width or precision above"),
        ("{{ 'x'.center(20001) }}", "not allowed in a template: a size above 20,000"),
        ("{{ 'x'|indent(20001) }}", "not allowed in a template: a size above 20,000"),
        ("{{ range(20001)|list|length }}", "not allowed in a template: a size above 20,000"),
        ("{{ ('a' * 20000) ~ 'b' }}", "not allowed in a template: the text comes to more than"),
        ("{% for i in range(9) %}{% for j in range(9) %}{% endfor %}{% endfor %}", "a loop within"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "macros are not allowed"),
        # Growing a string past the bound by a call, checked before the string is made.
        (
            "{{ ('x' * 20000).replace('x', 'x' * 1000)|length }}",
            "not allowed in a template: a replacement beyond 20,000 characters",
        ),
        (
            "{{ ('x' * 10001)|replace('x', 'xx')|length }}",
            "not allowed in a template: a replacement beyond 20,000 characters",
        ),
        (
            "{{ ('y' * 20000).replace('', 'z')|length }}",
            "not allowed in a template: a replacement beyond 20,000 characters",
        ),
        (
            "{{ (['x' * 20000] * 20000)|join|length }}",
            "not allowed in a template: a join beyond 20,000 characters",
        ),
        (
            "{{ ''.join(['x' * 10000] * 3)|length }}",
            "not allowed in a template: a join beyond 20,000 characters",
        ),
        (
            "{{ ('\\n' * 10000)|indent(3)|length }}",
            "not allowed in a template: an indent beyond 20,000 characters",
        ),
        (
            "{% set l = [1] %}{% for i in range(60) %}{{ l.extend(l) }}{% endfor %}",
            "not allowed in a template: access to attribute 'extend' of 'list' object is unsafe",
        ),
    ],
)
def test_a_template_that_fails_or_would_run_away_is_refused_with_its_reason(
    source: str, reason: str
) -> None:
    with pytest.raises(templates.TemplateInvalid) as caught:
        templates.check(source, field="body", sample=templates.sample())
    assert caught.value.detail.startswith(f"body: {reason}"), caught.value.detail
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("{{ 'a' * 20000 }}", "a" * 20000),  # the limits themselves are allowed
        ("{{ 7 ** 64 }}", str(7**64)),
        ("{{ 1 ** 100000 }}", "1"),
        ("{{ '%0999d' % 1 }}", "1".zfill(999)),
        ("{{ 'x'.center(3) }}", " x "),
        ("{{ range(20000)|list|length }}", "20000"),
        ("{{ '{:,}'.format(1234567) }} {{ 1234567|string }}", "1,234,567 1234567"),
        ("{{ 3.14159|round(2) }} {{ '%.2f'|format(2.5) }}", "3.14 2.50"),
        ("{% for i in range(3) %}{{ i }}{% endfor %}", "012"),
        ("{{ ('x' * 10000)|replace('x', 'xx')|length }}", "20000"),
        ("{{ ('x' * 20000).replace('x', 'y', 5)[:6] }}", "yyyyyx"),
        ("{{ ['a', 'b']|join(', ') }} {{ '-'.join(['c', 'd']) }}", "a, b c-d"),
        ("{{ 'a\\nb'|indent(2) }}", "a\n  b"),
    ],
)
def test_a_template_within_the_limits_renders(source: str, text: str) -> None:
    templates.check(source, field="body", sample=templates.sample())
    assert templates.render(source, templates.sample()) == text


def test_a_template_that_fails_only_on_some_account_says_why_when_rendered() -> None:
    source = "{{ 100 / (debtor.first_name|length - 6) }}"
    templates.check(source, field="body", sample=templates.sample())  # "Ada": 100 / -3
    with pytest.raises(ValueError, match="zerodivision error"):
        templates.render(source, {**templates.sample(), "debtor": {"first_name": "Robert"}})
