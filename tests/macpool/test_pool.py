"""The pool's definition: prefixes, ranges and lists, validated in [macpool]."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from leasewatch.config import load
from leasewatch.errors import ConfigError
from leasewatch.macpool import pool as mp

# a config names at least one server (report-only: a Kea memfile)
SERVER = '\n[[servers]]\nname = "dhcp1"\nkind = "kea"\nleases = "/var/lib/kea/l.csv"\n'


def config(tmp_path: Path, body: str) -> Path:
    """A config file with ``body`` as its [macpool] table."""
    path = tmp_path / "leasewatch.toml"
    path.write_text(f"[reaper]\nprotect = ['52:54:00:5e:00:07']\n\n[macpool]\n{body}\n" + SERVER)
    return path


def test_prefix_holds_every_mac_under_it() -> None:
    """A two-octet-short prefix is 65536 MACs, first and last included."""
    pool = mp.from_prefix("52:54:00:5E")
    assert pool.size == 65536
    assert "52:54:00:5e:00:00" in pool and "52:54:00:5e:ff:ff" in pool
    assert "52:54:00:5f:00:00" not in pool and "52:54:00:5d:ff:ff" not in pool


def test_first_free_skips_used_and_never_lists_the_pool() -> None:
    """first_free walks up from the first MAC: a 3-octet prefix (16.7M MACs) costs nothing."""
    pool = mp.from_prefix("52:54:00")
    used = {mp.mac_int("52:54:00:00:00:00"), mp.mac_int("52:54:00:00:00:01")}
    assert pool.first_free(used) == mp.mac_int("52:54:00:00:00:02")


def test_list_and_range_pools() -> None:
    """An explicit list keeps only its MACs; a range includes both ends."""
    listed = mp.from_list(["52:54:00:00:00:09", "52-54-00-00-00-03"])
    assert "52:54:00:00:00:03" in listed and "52:54:00:00:00:04" not in listed
    assert [mp.mac_str(v) for v in listed.walk()] == ["52:54:00:00:00:03", "52:54:00:00:00:09"]
    ranged = mp.from_range("52:54:00:00:00:0e", "52:54:00:00:00:10")
    assert ranged.size == 3 and "52:54:00:00:00:10" in ranged
    assert (
        listed.first_free({mp.mac_int("52:54:00:00:00:03"), mp.mac_int("52:54:00:00:00:09")})
        is None
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('prefix = "53:54:00"', "includes multicast MACs"),
        ('prefix = "01:00:5e"', "includes multicast MACs"),
        ('range = ["52:ff:ff:ff:ff:ff", "54:00:00:00:00:00"]', "includes multicast MACs"),
        ('macs = ["52:54:00:00:00:01", "33:33:00:00:00:01"]', "includes multicast MACs"),
        ('prefix = "52:54:00:5e:00:01"', "expected 1 to 5 octets"),
        ('prefix = "zz"', "expected 1 to 5 octets"),
        ('range = ["52:54:00:00:00:09", "52:54:00:00:00:01"]', "the first MAC <= the last"),
        ('range = ["52:54:00:00:00:09"]', "expected [first, last]"),
        ('macs = ["52:54:00:00:00:01", "52:54:00:00:00:01"]', "listed twice"),
        ('macs = ["nope"]', "expected MACs like"),
        ("macs = []", "at least one MAC"),
        ('prefix = "52:54"\nmacs = ["52:54:00:00:00:01"]', "give only one of prefix, range, macs"),
        ('hold = "5m"', "missing; give one of prefix, range or macs"),
        ('prefix = "52:54"\nhold = "soon"', "macpool.hold: expected a duration"),
        ('prefix = "52:54"\ncolour = "blue"', "macpool.colour: unknown key"),
    ],
)
def test_bad_pools_are_one_clear_line(tmp_path: Path, body: str, message: str) -> None:
    """Each bad pool is one config error naming file:line, the key and what was expected."""
    path = config(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load(path, {})
    (line,) = caught.value.messages
    assert line.startswith(f"{path}:") and "macpool." in line and message in line, line


def test_good_pool_config(tmp_path: Path) -> None:
    """hold and networks are read; check-config shows the pool as its bounds."""
    loaded = load(config(tmp_path, 'prefix = "52:54:00:5e"\nhold = "5m"\nnetworks = ["lab"]'))
    assert loaded.macpool is not None
    assert loaded.macpool.hold == timedelta(minutes=5)
    assert loaded.macpool.networks == ("lab",)
    assert loaded.macpool.pool.describe() == "52:54:00:5e:00:00 - 52:54:00:5e:ff:ff"
    assert load(tmp_path / "leasewatch.toml").macpool == loaded.macpool


def test_no_pool_configured_is_none(tmp_path: Path) -> None:
    """Without [macpool] the config has no pool (and mac take says so)."""
    path = tmp_path / "leasewatch.toml"
    path.write_text("[reaper]\n" + SERVER)
    assert load(path, {}).macpool is None


@pytest.mark.parametrize(
    ("prefix", "warning"),
    [
        ("52:54:00:5e", None),
        ("00:16:3e:5e", "under Xen's OUI 00:16:3e"),
        ("00:1b:21", "vendor OUI real NICs use"),
    ],
)
def test_vendor_oui_prefix_warns(prefix: str, warning: str | None) -> None:
    """A locally administered prefix is quiet; a hypervisor's OUI or a NIC maker's warns."""
    found = mp.warnings(mp.from_prefix(prefix))
    if warning is None:
        assert found == []
    else:
        (line,) = found
        assert warning in line
