"""The dhcpd -6 lab: a real ``dhcpd -6`` hands addresses, temporary addresses and prefixes to
real ``dhclient -6`` VMs, and writes them to its dhcpd6.leases journal."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.isc import IscLab, Layout6, dhcpd_pools
from leasewatch.cli import Env, main
from leasewatch.config import ServerConfig
from leasewatch.core.analysis import analyse
from leasewatch.leases.isc import IscLeaseSource
from leasewatch.model import PoolKind

_BLOCK = re.compile(r'^(ia-na|ia-ta|ia-pd) "((?:[^"\\]|\\.)*)" \{', re.MULTILINE)


def cli(config: Path, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process against the lab's config."""
    out, err = io.StringIO(), io.StringIO()
    status = main(["-c", str(config), *argv], Env(stdout=out, stderr=err, color=False))
    return status, out.getvalue(), err.getvalue()


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
    layout = isc6_lab.layout6
    assert layout is not None
    assert _used(isc6_lab.conf_path, isc6_lab.leases_path)[f"{layout.first} - {layout.last}"] == 3


def _used(conf: Path, leases: Path) -> dict[str, int]:
    """dhcpd-pools --ip-version=6: active addresses per range, as "first - last"."""
    return {s["range"]: s["used"] for s in dhcpd_pools(conf, leases)}


def _wait_released(leases: Path, address: object, timeout: float = 15.0) -> None:
    """Wait until dhcpd -6 has journaled the RELEASE of ``address``: ``dhclient -6 -r`` may
    return before the server wrote it (seen once in a full run: 3 active, not 2)."""
    block = re.compile(rf"iaaddr {address} \{{[^}}]*binding state (\w+);")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = block.findall(leases.read_text())
        if states and states[-1] == "released":
            return
        time.sleep(0.1)
    raise AssertionError(f"dhcpd -6 never journaled the release of {address} in {leases}")


def test_leasewatch_counts_the_real_journal_as_dhcpd_pools_does(isc6_lab: IscLab) -> None:
    """Addresses per range6 as dhcpd-pools counts them (after a release too); temporary
    addresses and delegated prefixes counted in their own pools (dhcpd-pools counts neither)."""
    layout = isc6_lab.layout6
    assert layout is not None
    na = isc6_lab.boot6(3, "na")
    isc6_lab.boot6(1, "ta")
    isc6_lab.boot6(2, "pd")
    isc6_lab.hypervisor.release6(na[0])
    _wait_released(isc6_lab.leases_path, na[0].ip6)
    config = ServerConfig(
        name="d6", kind="isc", leases=isc6_lab.leases_path, dhcpd_conf=isc6_lab.conf_path
    )
    snap = IscLeaseSource(config).read()
    result = analyse([snap], [], now=datetime.now(UTC))
    ours = {(p.kind, str(p.first), str(p.last)): p.active for p in result.pools}
    theirs = _used(isc6_lab.conf_path, isc6_lab.leases_path)
    first, last = str(layout.first), str(layout.last)
    assert ours[(PoolKind.ADDRESS, first, last)] == theirs[f"{first} - {last}"] == 2
    wide = layout.prefix_range
    assert ours[(PoolKind.ADDRESS, str(wide[0]), str(wide[-1]))] == 0
    assert theirs[f"{wide[0]} - {wide[-1]}"] == 0
    temporary = layout.temporary_range
    assert ours[(PoolKind.TEMPORARY, str(temporary[0]), str(temporary[-1]))] == 1
    (pd,) = [p for p in result.pools if p.kind is PoolKind.PREFIX]
    assert (pd.size, pd.active, pd.delegated_len) == (layout.pd_count, 2, layout.pd_len)


def test_cli_reports_dhcpd6_and_keeps_its_orphans_report_only(isc6_lab: IscLab) -> None:
    """Through the CLI: the report counts the v6 pools; a destroyed VM's lease is unknown
    (its MAC comes from the DUID), with trust_duid_mac an orphan that ``why`` and the plan
    keep (OMAPI reaches no DHCPv6 lease); scan --apply changes nothing on the server."""
    gone, alive = isc6_lab.boot6(2, "na")
    isc6_lab.destroy(gone)
    state = isc6_lab.workdir / "state.db"
    config = isc6_lab.workdir / "leasewatch.toml"
    config.write_text(isc6_lab.leasewatch_toml(state))
    status, out, err = cli(config, "report", "--format", "json")
    assert status == 0, err
    layout = isc6_lab.layout6
    assert layout is not None
    pools = {p["first"]: p for p in json.loads(out)["pools"]}
    assert (pools[str(layout.first)]["size"], pools[str(layout.first)]["active"]) == (16, 2)
    assert pools[str(layout.pd_base)]["size"] == layout.pd_count
    status, out, err = cli(config, "why", str(gone.ip6))
    assert status == 0, err
    assert "[unknown-duid-mac]" in out and "[keep-omapi-v4-only]" in out

    config.write_text(isc6_lab.leasewatch_toml(state, reaper='grace = "0s"\ntrust_duid_mac = true'))
    before = isc6_lab.leases_path.read_text()
    status, out, err = cli(config, "why", str(gone.ip6))
    assert "verdict: ORPHAN" in out and "[keep-omapi-v4-only]" in out, out + err
    status, out, err = cli(config, "scan", "--apply")
    assert isc6_lab.leases_path.read_text() == before
    status, out, err = cli(config, "why", str(alive.ip6))
    assert "verdict: LIVE" in out, out + err


@pytest.mark.lab
def test_a_prefix_delegation_pool_runs_dry() -> None:
    """dhclient -6 -P clients take every /56 of a two-prefix pool: the PD pool is full and
    critical in the report and in ``check`` (exit 2, the network's prefixes apart from its
    addresses), and one more client gets no prefix."""
    lab = IscLab.start6(Layout6(pd_count=2))
    try:
        first = lab.boot6(2, "pd")
        assert all(vm.prefix is not None for vm in first)
        (late,) = lab.boot6(1, "pd", timeout=5)
        assert late.prefix is None
        config = lab.workdir / "leasewatch.toml"
        config.write_text(lab.leasewatch_toml(lab.workdir / "state.db"))
        status, out, err = cli(config, "report", "--format", "json")
        assert status == 0, err
        (pd,) = [p for p in json.loads(out)["pools"] if p["first"] == str(Layout6().pd_base)]
        assert (pd["size"], pd["active"], pd["free"], pd["level"]) == (2, 2, 0, "critical")
        status, out, err = cli(config, "check")
        assert status == 2 and out.startswith("DHCP CRITICAL"), out + err
        assert "prefixes" in out
    finally:
        lab.close()
