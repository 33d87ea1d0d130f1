"""The dhcpd -6 lab: a real ``dhcpd -6`` hands addresses, temporary addresses and prefixes to
real ``dhclient -6`` VMs, and writes them to its dhcpd6.leases journal."""

from __future__ import annotations

import re
import subprocess

from lab.isc import IscLab

_BLOCK = re.compile(r'^(ia-na|ia-ta|ia-pd) "((?:[^"\\]|\\.)*)" \{', re.MULTILINE)


def _octets(escaped: str) -> bytes:
    r"""The bytes of a dhcpd string written with octal escapes (``\000\001...``)."""
    raw = escaped.encode("latin-1")
    return re.sub(
        rb"\\([0-7]{3}|.)", lambda m: bytes([int(m[1], 8)]) if len(m[1]) == 3 else m[1], raw
    )


def test_dhclient6_vms_get_addresses_temporary_addresses_and_prefixes(isc6_lab: IscLab) -> None:
    """NA, TA and PD clients are served from their ranges, and the journal names each."""
    layout = isc6_lab.layout6
    assert layout is not None
    na = isc6_lab.boot6(2, "na")
    ta = isc6_lab.boot6(1, "ta")
    pd = isc6_lab.boot6(1, "pd")
    assert all(vm.ip6 is not None and layout.first <= vm.ip6 <= layout.last for vm in na)
    assert ta[0].ip6 in layout.temporary_range
    assert pd[0].prefix is not None and pd[0].prefix.prefixlen == layout.pd_len
    text = isc6_lab.leases_path.read_text()
    assert "server-duid " in text
    kinds = sorted(kind for kind, _ in _BLOCK.findall(text))
    assert kinds == ["ia-na", "ia-na", "ia-pd", "ia-ta"]
    for vm in [*na, *ta]:
        assert f"iaaddr {vm.ip6} {{" in text
    assert f"iaprefix {pd[0].prefix} {{" in text


def test_the_ia_key_is_iaid_and_a_duid_llt_holding_the_vms_mac(isc6_lab: IscLab) -> None:
    """dhclient 4.4 makes a DUID-LLT from the NIC's MAC: the key's last six bytes are the MAC."""
    (vm,) = isc6_lab.boot6(1, "na")
    ((_, key),) = _BLOCK.findall(isc6_lab.leases_path.read_text())
    raw = _octets(key)
    duid = raw[4:]
    assert duid[:4] == b"\x00\x01\x00\x01"  # DUID-LLT, hardware type 1 (Ethernet)
    assert duid[-6:].hex(":") == vm.mac


def test_dhcpd_pools_counts_the_lab_addresses(isc6_lab: IscLab) -> None:
    """dhcpd-pools --ip-version=6 sees the active addresses of the start-end range."""
    isc6_lab.boot6(3, "na")
    out = subprocess.run(
        [
            "dhcpd-pools",
            "--ip-version=6",
            "-c",
            str(isc6_lab.conf_path),
            "-l",
            str(isc6_lab.leases_path),
            "-f",
            "c",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    layout = isc6_lab.layout6
    assert layout is not None
    assert f'"{layout.first}","{layout.last}","16","3"' in out
