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
    ],
)
def test_parser_refuses_what_is_not_a_channel(bad: str) -> None:
    with pytest.raises(names.ChannelNameError):
        names.parse(bad)


def test_tenant_scoping_round_trips() -> None:
    full = names.scoped(5, names.account(9))
    assert full == "t5:account:9"
    assert names.unscoped(full) == (5, "account:9")
    with pytest.raises(names.ChannelNameError):
        names.unscoped("account:9")


def test_an_imports_channel_is_named_by_its_id() -> None:
    assert names.import_progress(42) == "import:42"
    assert names.parse("import:42") == ("import", 42)
