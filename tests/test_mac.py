"""The one MAC parser: what real sources write is read, near-misses are rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasewatch.model import normalize_mac, parse_mac
from tests.cli_helpers import isc_fixture_config, run


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("52:54:00:12:34:56", "52:54:00:12:34:56"),  # dhcpd, Kea, libvirt, dnsmasq
        ("52:54:00:AB:CD:EF", "52:54:00:ab:cd:ef"),  # XenAPI, Proxmox (upper case)
        ("0:1:2:3:4:5", "00:01:02:03:04:05"),  # unpadded octets (dhcpd's OMAPI tooling)
        ("52-54-00-ab-cd-ef", "52:54:00:ab:cd:ef"),  # Windows, Hyper-V
        ("5254.00ab.cdef", "52:54:00:ab:cd:ef"),  # Cisco
        ("525400abcdef", "52:54:00:ab:cd:ef"),  # OMAPI's raw bytes, hex-dumped
        (" 52:54:00:12:34:56\n", "52:54:00:12:34:56"),  # a line as a file holds it
    ],
)
def test_what_sources_write_is_read(text: str, expected: str) -> None:
    """Each spelling a DHCP server, hypervisor or operator writes gives the canonical form."""
    assert parse_mac(text) == expected == normalize_mac(text)


@pytest.mark.parametrize(
    "text",
    [
        "aa:bbcc:dd:ee:ff",  # a group of four among pairs
        "a:a:b:b:c:c:d:d:e:e:f:f",  # twelve single digits
        "aa:bb:cc:dd:ee",  # five octets
        "aa:bb:cc:dd:ee:ff:00",  # seven (an EUI-64 or a DUID is not a MAC)
        "aa:bb-cc:dd:ee:ff",  # mixed separators
        "aa bb cc dd ee ff",  # spaces
        "aabb.ccdd.ee.ff",
        "52:54:00:12:34:5g",  # not hex
        "525400abcde",  # eleven digits
        "",
    ],
)
def test_near_misses_are_rejected(text: str) -> None:
    """A typo is not silently read as some MAC: ValueError (None from normalize_mac)."""
    with pytest.raises(ValueError, match="expected a MAC"):
        parse_mac(text)
    assert normalize_mac(text) is None


def test_config_and_inventory_use_the_strict_parser(tmp_path: Path) -> None:
    """A [reaper] protect entry and an inventory line in a 4-digit group are errors naming
    where, not MACs."""
    config = isc_fixture_config(tmp_path, "", '[reaper]\nprotect = ["aa:bbcc:dd:ee:ff"]\n')
    result = run("-c", str(config), "check-config")
    assert result.status == 3
    assert "protect" in result.err and "'aa:bbcc:dd:ee:ff'" in result.err
    inventory = isc_fixture_config(tmp_path, "52:54:00:00:00:0b\naa:bbcc:dd:ee:ff\n")
    report = run("-c", str(inventory), "report", "--format", "json")
    assert "line 2: expected a MAC address" in report.out + report.err
