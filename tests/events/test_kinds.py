"""The events kinds map: exactly the inventory kinds that accept ``events``, and the flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasewatch.config import INVENTORY_KEYS, Config, DaemonConfig, InventoryConfig, load
from leasewatch.errors import ConfigError
from leasewatch.events import kinds
from leasewatch.events.libvirt import LibvirtStream
from leasewatch.events.watch import Watch
from tests.events.test_watch import Recorder


def test_every_kind_with_an_events_key_has_a_stream() -> None:
    """STREAMS maps exactly the inventory kinds whose config accepts ``events``."""
    with_key = {kind for kind, (_, optional) in INVENTORY_KEYS.items() if "events" in optional}
    assert set(kinds.STREAMS) == with_key


def _config(*inventory: InventoryConfig, events: bool = True) -> Config:
    return Config(path=Path("x.toml"), inventory=inventory, daemon=DaemonConfig(events=events))


KVM = InventoryConfig(name="kvm", kind="libvirt", uri=("test:///default",))
FLEET = InventoryConfig(
    name="fleet", kind="libvirt", uri=("qemu+ssh://a/system", "test:///default")
)
QUIET = InventoryConfig(name="quiet", kind="libvirt", uri=("test:///default",), events=False)
CMD = InventoryConfig(name="cmd", kind="command", command=("true",))


def test_build_gives_one_stream_per_uri_and_honours_both_switches() -> None:
    """A fleet entry streams per URI; ``events = false`` (entry or daemon) builds none."""
    watch = Watch(lambda name: None, Recorder())
    streams = kinds.build(_config(KVM, FLEET, QUIET, CMD), watch)
    assert [s.stream for s in streams] == [
        "kvm",
        "fleet[qemu+ssh://a/system]",
        "fleet[test:///default]",
    ]
    assert {s.inventory for s in streams} == {"kvm", "fleet"}
    assert all(isinstance(s, LibvirtStream) for s in streams)
    assert kinds.build(_config(KVM, FLEET, events=False), watch) == []


def test_config_reads_the_events_keys(tmp_path: Path) -> None:
    """``[daemon] events`` and an inventory's ``events`` are booleans, on by default."""
    path = tmp_path / "leasewatch.toml"
    path.write_text(
        '[[servers]]\nname = "d"\nkind = "isc"\nleases = "/l"\ndhcpd_conf = "/c"\n'
        '[[inventory]]\nname = "kvm"\nkind = "libvirt"\nuri = "test:///default"\n'
        "events = false\n"
        '[[inventory]]\nname = "kvm2"\nkind = "libvirt"\nuri = "test:///default"\n'
        "[daemon]\nevents = false\n"
    )
    config = load(path, {})
    assert [i.events for i in config.inventory] == [False, True]
    assert config.daemon.events is False


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            '[[inventory]]\nname = "c"\nkind = "command"\ncommand = ["true"]\nevents = false\n',
            "inventory[0].events: unknown key",
        ),
        ('[daemon]\nevents = "no"\n', "daemon.events: expected true or false"),
    ],
    ids=["no-stream-for-command", "not-a-boolean"],
)
def test_config_refuses_events_where_it_means_nothing(
    tmp_path: Path, table: str, expected: str
) -> None:
    """A command inventory has no stream (its ``events`` is unknown); a word is no boolean."""
    path = tmp_path / "leasewatch.toml"
    path.write_text(
        '[[servers]]\nname = "d"\nkind = "isc"\nleases = "/l"\ndhcpd_conf = "/c"\n' + table
    )
    with pytest.raises(ConfigError) as raised:
        load(path, {})
    assert any(expected in m for m in raised.value.messages), raised.value.messages
