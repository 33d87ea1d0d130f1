"""MacSet, the compact set inventories hold: it must answer exactly as a frozenset would."""

from __future__ import annotations

import random

import pytest

from leasewatch.macset import MacSet, line_key, mac_key, mac_text


def test_behaves_as_the_frozenset_of_its_strings() -> None:
    """Membership, length, iteration and equality match a frozenset of canonical strings."""
    rng = random.Random(3)
    keys = [rng.randrange(1 << 48) for _ in range(2000)]
    texts = frozenset(mac_text(k) for k in keys)
    macs = MacSet.from_keys(keys + keys[:100])  # repeats count once
    assert len(macs) == len(texts)
    assert macs == texts and texts == macs
    assert sorted(macs) == sorted(texts)
    assert all(t in macs for t in texts)
    absent = [mac_text(rng.randrange(1 << 48)) for _ in range(2000)]
    assert [a in macs for a in absent] == [a in texts for a in absent]
    assert hash(macs) == hash(texts)


def test_every_spelling_finds_the_same_mac() -> None:
    """Any spelling normalize_mac accepts is looked up; anything else is simply absent."""
    macs = MacSet(["52:54:00:0a:0b:0c", "00:01:02:03:04:05"])
    for spelling in ("52:54:00:0A:0B:0C", "52-54-00-0a-0b-0c", "5254.000a.0b0c", "0:1:2:3:4:5"):
        assert spelling in macs
    for other in ("52:54:00:0a:0b:0d", "", "+2:54:00:0a:0b:0c", "52:54:00:0a:0b", 42, None):
        assert other not in macs


def test_strings_that_are_no_mac_are_refused() -> None:
    """Building from strings checks them: a set never silently drops an entry."""
    with pytest.raises(ValueError, match="not a MAC address: 'web01'"):
        MacSet(["52:54:00:0a:0b:0c", "web01"])


def test_union_merges_by_number() -> None:
    """union() of MacSets, and of a MacSet with strings, is the set union."""
    a = MacSet(["52:54:00:00:00:01", "52:54:00:00:00:02"])
    b = MacSet(["52:54:00:00:00:02", "52:54:00:00:00:03"])
    both = a.union(b, ["52:54:00:00:00:04"])
    assert isinstance(both, MacSet)
    assert both == {f"52:54:00:00:00:0{n}" for n in range(1, 5)}
    assert a | b == {f"52:54:00:00:00:0{n}" for n in range(1, 4)}


def test_keys_and_texts_round_trip() -> None:
    """mac_key and mac_text are inverse; line_key takes only the plain one-MAC line."""
    assert mac_text(mac_key("FF:EE:DD:CC:BB:AA") or 0) == "ff:ee:dd:cc:bb:aa"
    assert mac_key("not a mac") is None
    assert line_key(b"  52:54:00:0a:0b:0c \r\n") == 0x5254000A0B0C
    assert line_key(b"52:54:00:0a:0b:0c # web01\n") is None  # the slow path reads comments
    assert line_key(b"52-54-00-0a-0b-0c\n") is None


def test_difference_is_the_frozenset_difference() -> None:
    """``-`` gives what a frozenset of the same strings gives, between MacSets (by number)
    and against any other set."""
    rng = random.Random(5)
    before = [rng.randrange(1 << 48) for _ in range(3000)]
    now = before[100:] + [rng.randrange(1 << 48) for _ in range(50)]
    texts_before = frozenset(map(mac_text, before))
    texts_now = frozenset(map(mac_text, now))
    gone = MacSet.from_keys(before) - MacSet.from_keys(now)
    assert isinstance(gone, MacSet)
    assert gone == texts_before - texts_now and len(gone) == 100
    assert MacSet.from_keys(before) - texts_now == texts_before - texts_now
    assert texts_before - MacSet.from_keys(now) == texts_before - texts_now
