"""The assignment planner's choices: who gets a task under each strategy, with what reason,
and never an agent past their capacity."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.worklist.assignment import Agent, Group, Planner

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
TEAM = 1


def agent(
    id: int,
    *,
    load: int = 0,
    capacity: int = 5,
    last: dt.datetime | None = None,
    group_id: int | None = TEAM,
) -> Agent:
    return Agent(
        id=id,
        name=f"Agent {id}",
        group_id=group_id,
        capacity=capacity,
        load=load,
        last_assigned_at=last,
    )


def planner(*agents: Agent, last: int | None = None) -> Planner:
    team = Group(id=TEAM, name="Team", last=last, members=[a for a in agents if a.group_id])
    return Planner(list(agents), {TEAM: team}, NOW)


def test_an_agent_has_room_below_capacity_and_none_at_it() -> None:
    assert agent(1, load=4, capacity=5).free
    assert not agent(1, load=5, capacity=5).free


def test_never_assigned_comes_first_then_the_oldest_assignment_then_the_lowest_id() -> None:
    early = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    waiting = [
        agent(5, last=NOW),
        agent(4, last=early),
        agent(9),
        agent(3, last=early),
        agent(7),
        agent(1, last=dt.datetime(1971, 1, 1, tzinfo=dt.UTC)),
    ]
    assert [a.id for a in sorted(waiting, key=Agent.idle_key)] == [7, 9, 1, 3, 4, 5]


def test_the_named_agent_gets_the_task_and_is_stamped() -> None:
    named = agent(4, load=2)
    plan = planner(named)
    chosen = plan.choose({"kind": "agent", "agent_id": 4}, None, None)
    assert chosen == (named, "the rule's named agent, Agent 4")
    assert (named.load, named.last_assigned_at) == (3, NOW)


def test_the_named_agent_at_capacity_or_unknown_gets_nothing() -> None:
    full = agent(4, load=5, capacity=5)
    plan = planner(full)
    assert plan.choose({"kind": "agent", "agent_id": 4}, None, None) is None
    assert plan.choose({"kind": "agent", "agent_id": 99}, None, None) is None
    assert plan.choose({"kind": "agent"}, None, None) is None
    assert (full.load, full.last_assigned_at) == (5, None)


def test_the_owner_gets_their_account_s_task_one_below_capacity_but_not_at_it() -> None:
    owner = agent(6, load=4, capacity=5)
    plan = planner(owner)
    assert plan.choose({"kind": "owner"}, None, 6) == (owner, "the account's owner, Agent 6")
    assert owner.load == 5
    assert plan.choose({"kind": "owner"}, None, 6) is None
    assert plan.choose({"kind": "owner"}, None, None) is None


def test_fewest_open_takes_the_least_loaded_and_says_its_load_before_the_task() -> None:
    busy, light = agent(1, load=3), agent(2, load=1)
    plan = planner(busy, light)
    chosen = plan.choose({"kind": "fewest_open", "group_id": TEAM}, None, None)
    assert chosen == (light, "fewest open tasks in Team: 1 held of 5")
    assert light.load == 2


def test_fewest_open_breaks_a_tie_by_idleness() -> None:
    recent = agent(1, load=2, last=NOW - dt.timedelta(minutes=1))
    longer = agent(2, load=2, last=NOW - dt.timedelta(hours=1))
    plan = planner(recent, longer)
    chosen = plan.choose({"kind": "fewest_open", "group_id": TEAM}, None, None)
    assert chosen is not None
    assert chosen[0] is longer


def test_the_task_s_own_group_serves_when_the_strategy_names_none() -> None:
    member = agent(1)
    plan = planner(member)
    assert plan.choose({"kind": "fewest_open"}, TEAM, None) == (
        member,
        "fewest open tasks in Team: 0 held of 5",
    )
    assert plan.choose({"kind": "fewest_open"}, None, None) is None
    assert plan.choose({"kind": "fewest_open", "group_id": 99}, None, None) is None


def test_a_group_whose_members_are_all_at_capacity_gives_nothing() -> None:
    first, second = agent(1, load=5), agent(2, load=4)
    plan = planner(first, second)
    assert plan.choose({"kind": "fewest_open", "group_id": TEAM}, None, None) is not None
    assert plan.choose({"kind": "longest_idle", "group_id": TEAM}, None, None) is None
    assert plan.choose({"kind": "round_robin", "group_id": TEAM}, None, None) is None
    assert (first.load, second.load) == (5, 5)
    assert plan.touched_groups == {}


def test_longest_idle_prefers_never_assigned_then_the_oldest_assignment() -> None:
    old = NOW - dt.timedelta(hours=2)
    recent, idle, never = agent(1, last=NOW), agent(2, last=old), agent(3)
    plan = planner(recent, idle, never)
    strategy = {"kind": "longest_idle", "group_id": TEAM}
    assert plan.choose(strategy, None, None) == (
        never,
        "longest idle in Team: never assigned before",
    )
    assert plan.choose(strategy, None, None) == (
        idle,
        "longest idle in Team: idle since 2026-03-02T07:30:00+00:00",
    )
    # Both were stamped with the round's instant: the id decides between them and `recent`.
    assert plan.choose(strategy, None, None) == (
        recent,
        "longest idle in Team: idle since 2026-03-02T09:30:00+00:00",
    )


def test_round_robin_starts_after_the_group_s_last_agent_and_wraps() -> None:
    a, b, c = agent(10), agent(20), agent(30)
    plan = planner(c, a, b, last=20)
    strategy = {"kind": "round_robin", "group_id": TEAM}
    turns = [plan.choose(strategy, None, None) for _ in range(4)]
    assert turns == [
        (c, "round robin in Team: next after agent 20"),
        (a, "round robin in Team: next after agent 30"),
        (b, "round robin in Team: next after agent 10"),
        (c, "round robin in Team: next after agent 20"),
    ]
    assert plan.groups[TEAM].last == 30
    assert plan.touched_groups == {TEAM: 30}


def test_round_robin_with_no_last_agent_starts_at_the_lowest_id() -> None:
    a, b = agent(10), agent(20)
    plan = planner(b, a)
    chosen = plan.choose({"kind": "round_robin", "group_id": TEAM}, None, None)
    assert chosen == (a, "round robin in Team: next after agent none")
    assert plan.touched_groups == {TEAM: 10}


def test_round_robin_passes_over_an_agent_at_capacity() -> None:
    a, b, c = agent(10), agent(20, load=5), agent(30)
    plan = planner(a, b, c, last=10)
    chosen = plan.choose({"kind": "round_robin", "group_id": TEAM}, None, None)
    assert chosen == (c, "round robin in Team: next after agent 10")
    assert b.load == 5


def test_round_robin_after_the_highest_id_goes_back_to_the_lowest() -> None:
    a, b = agent(10), agent(20)
    plan = planner(a, b, last=20)
    chosen = plan.choose({"kind": "round_robin", "group_id": TEAM}, None, None)
    assert chosen == (a, "round robin in Team: next after agent 20")


@pytest.mark.parametrize("kind", ["queue", None, "unknown"])
def test_a_strategy_that_picks_nobody_gives_nothing(kind: str | None) -> None:
    member = agent(1)
    plan = planner(member)
    assert plan.choose({"kind": kind, "group_id": TEAM}, TEAM, 1) is None
    assert (member.load, member.last_assigned_at) == (0, None)


def test_no_owner_and_no_named_agent_mean_nobody_even_with_the_first_agent_free() -> None:
    first = agent(1)
    plan = planner(first)
    assert plan.choose({"kind": "owner"}, None, None) is None
    assert plan.choose({"kind": "agent", "agent_id": None}, None, None) is None
    assert (first.load, first.last_assigned_at) == (0, None)
