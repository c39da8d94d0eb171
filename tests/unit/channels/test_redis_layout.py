"""Where the channels' keys fall on a Redis Cluster: a channel's history, live channel,
marker and refill token all in the channel's slot, and one marker for every slot."""

from __future__ import annotations

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from channels import names
from channels.redis_layout import (
    HISTORY_COMPLETE,
    HISTORY_REFILL,
    ClusterLayout,
    Layout,
    history_key,
    is_cluster,
    live_key,
    plain_url,
)


def test_the_cluster_is_chosen_by_the_addresss_scheme() -> None:
    assert is_cluster("redis+cluster://10.0.0.5:6379")
    assert is_cluster("rediss+cluster://user:pw@node:6380/0")
    assert not is_cluster("redis://10.0.0.5:6379/0")
    assert not is_cluster("unix:///run/redis.sock?db=2")
    assert plain_url("rediss+cluster://user:pw@node:6380/0") == "rediss://user:pw@node:6380/0"
    assert plain_url("redis://h:1/0") == "redis://h:1/0"


def test_every_key_of_a_channel_falls_into_its_slot() -> None:
    layout = ClusterLayout()
    for n in range(2000):
        channel = names.scoped(n % 7 + 1, names.account(n))
        slot = key_slot(history_key(channel).encode())
        assert key_slot(live_key(channel).encode()) == slot
        assert key_slot(layout.marker(channel).encode()) == slot
        assert key_slot(layout.token(channel).encode()) == slot


def test_one_marker_and_one_token_per_slot_each_pair_in_its_slot() -> None:
    pairs = list(ClusterLayout().pairs())
    assert len(pairs) == REDIS_CLUSTER_HASH_SLOTS
    slots = [key_slot(marker.encode()) for _, marker in pairs]
    assert sorted(slots) == list(range(REDIS_CLUSTER_HASH_SLOTS))
    assert all(key_slot(t.encode()) == key_slot(m.encode()) for t, m in pairs)
    assert all(m.startswith(HISTORY_COMPLETE) and t.startswith(HISTORY_REFILL) for t, m in pairs)


def test_one_server_keeps_one_marker() -> None:
    layout = Layout()
    assert layout.marker("t1:account:1") == layout.marker("t9:wallboard") == HISTORY_COMPLETE
    assert list(layout.pairs()) == [(HISTORY_REFILL, HISTORY_COMPLETE)]
