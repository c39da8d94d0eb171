import pytest

from channels import names


def test_builders_and_parser_agree() -> None:
    assert names.parse(names.account(42)) == ("account", 42)
    assert names.parse(names.agent(7)) == ("agent", 7)
    assert names.parse("agent:me") == ("agent", "me")
    assert names.parse(names.WALLBOARD) == ("wallboard", None)
    assert names.parse(names.TENANT) == ("tenant", None)
    assert names.parse(names.PAY) == ("pay", None)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "account",
        "account:",
        "account:x",
        "account:me",
        "wallboard:1",
        "t1:account:1",
        "secrets:1",
        "import",
        "import:me",
        "tenant:1",
        "account:1:2",
        "ACCOUNT:1",
        "account:-1",
        "account:" + "9" * 30,
        "account:9223372036854775808",  # one past the largest 64-bit id
        "wallboard\n",
        "account:1\n",
        "agent:me\n",
        " account:1",
        # Another name than the channel the events go to (account:42).
        "account:042",
        "account:00",
        "queue:01",
        "group:0001",
        "import:01",
        "agent:03",
    ],
)
def test_parser_refuses_what_is_not_a_channel(bad: str) -> None:
    with pytest.raises(names.ChannelNameError):
        names.parse(bad)


def test_every_64_bit_id_is_a_channel() -> None:
    assert names.parse("account:9223372036854775807") == ("account", 2**63 - 1)
    assert names.parse("queue:1000000000000000000") == ("queue", 10**18)


def test_a_long_bad_name_is_said_back_shortened() -> None:
    with pytest.raises(names.ChannelNameError) as caught:
        names.parse("A" * 60_000)
    assert str(caught.value) == repr("A" * 63 + "…") + " is not a channel name"
    with pytest.raises(names.ChannelNameError) as caught:
        names.parse("a" * 60_000)
    assert str(caught.value) == "unknown channel kind " + repr("a" * 63 + "…")


def test_tenant_scoping_round_trips() -> None:
    full = names.scoped(5, names.account(9))
    assert full == "t5:account:9"
    assert names.unscoped(full) == (5, "account:9")
    with pytest.raises(names.ChannelNameError):
        names.unscoped("account:9")


def test_an_imports_channel_is_named_by_its_id() -> None:
    assert names.import_progress(42) == "import:42"
    assert names.parse("import:42") == ("import", 42)


def test_leading_zeros_are_refused_saying_how_to_write_the_name() -> None:
    with pytest.raises(names.ChannelNameError) as caught:
        names.parse("account:042")
    assert str(caught.value) == "account:042 has leading zeros; write account:42"
    assert names.parse("account:0") == ("account", 0)
