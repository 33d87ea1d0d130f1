"""Kea DHCPv6 over ``control_url``: a real kea-ctrl-agent 2.2 in front of a real kea-dhcp6
2.2, the service found from the agent's own config (or set per server when the agent serves
both daemons), reports, and orphans deleted with lease6-del through the agent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lab.isc import Layout6
from lab.kea import KeaAgent, KeaServer, running_agent, running_kea
from lab.kea6 import Kea6Lab, running_kea6
from lab.toml import toml_string
from tests.cli_helpers import run

pytestmark = pytest.mark.lab

PASSWORD = "kea6-agent-pw"


@pytest.fixture
def kea6_agent_lab() -> Iterator[Kea6Lab]:
    """kea-dhcp6 in a namespace (8 addresses, four /56 prefixes) behind kea-ctrl-agent with
    basic auth, for dhclient -6 VMs."""
    lab = Kea6Lab.start(
        Layout6(na_size=8, pd_count=4, pd_len=56),
        agent=True,
        username="leasewatch",
        password=PASSWORD,
    )
    try:
        yield lab
    finally:
        lab.close()


def cli_json(config: Path, *argv: str, now: datetime) -> dict[str, Any]:
    """``leasewatch -c CONFIG ARGV --format json`` as a document (the password never in it)."""
    result = run("-c", str(config), *argv, "--format", "json", now=now)
    assert PASSWORD not in result.out + result.err
    doc: dict[str, Any] = json.loads(result.out)
    return doc


def test_the_v6_story_through_the_agent(kea6_agent_lab: Kea6Lab) -> None:
    """Through the agent's URL (no service set: the agent forwards to dhcp6 only): the
    address and PD pools reported, the dead VMs' leases deleted with lease6-del, the live
    VMs' leases kept."""
    lab = kea6_agent_lab
    na = lab.boot6(4)
    pd = lab.boot6(2, dhcp6="pd")
    assert all(vm.ip6 is not None for vm in na) and all(vm.prefix is not None for vm in pd)
    dead = [na[0], na[1], pd[0]]
    for vm in dead:
        lab.destroy(vm)
    config = lab.workdir / "leasewatch.toml"
    config.write_text(lab.leasewatch_toml(lab.workdir / "state.db", reaper=""), encoding="utf-8")
    assert lab.agent is not None and lab.agent.url in config.read_text(encoding="utf-8")

    now = datetime.now(UTC)
    doc = cli_json(config, "report", now=now)
    pools = {p["kind"]: p for p in doc["pools"]}
    assert (pools["address"]["size"], pools["address"]["active"]) == (8, 4)
    assert (
        pools["prefix"]["size"],
        pools["prefix"]["active"],
        pools["prefix"]["delegated_len"],
    ) == (
        4,
        2,
        56,
    )
    assert {o["mac"] for o in doc["orphans"]} == {vm.mac for vm in dead}

    assert cli_json(config, "scan", now=now)["applied"] is False  # grace starts now
    scan = cli_json(config, "scan", "--apply", now=now + timedelta(minutes=31))
    released = [r for r in scan["releases"] if r["outcome"] == "released"]
    assert sorted(r["mac"] for r in released) == sorted(vm.mac for vm in dead)
    assert all("lease6-del" in r["detail"] for r in released)
    live_na, live_pd = na[2:], pd[1]
    assert live_pd.prefix is not None
    held = {item["ip-address"] for item in lab.leases()}
    assert held == {str(vm.ip6) for vm in live_na} | {str(live_pd.prefix.network_address)}
    log = lab.agent.log_path.read_text(encoding="utf-8", errors="replace")
    assert "lease6-del" in log  # forwarded by the agent, not sent to the socket directly


SUBNETS6: list[dict[str, Any]] = [
    {"id": 1, "subnet": "2001:db8:6::/64", "pools": [{"pool": "2001:db8:6::100-2001:db8:6::1ff"}]}
]
MAC4, MAC6_LIVE, MAC6_GONE = "52:54:00:00:04:01", "52:54:00:00:06:01", "52:54:00:00:06:02"


@pytest.fixture
def both(short_tmp: Path) -> Iterator[tuple[KeaServer, KeaServer, KeaAgent]]:
    """kea-dhcp4 and kea-dhcp6 (API only) behind one kea-ctrl-agent forwarding to both."""
    with (
        running_kea(short_tmp / "k4") as kea4,
        running_kea6(short_tmp / "k6", SUBNETS6) as kea6,
        running_agent(
            kea4, sockets={"dhcp4": kea4.socket_path, "dhcp6": kea6.socket_path}
        ) as agent,
    ):
        kea4.add_lease("198.18.1.10", MAC4, hostname="vm4")
        for ip, mac, iaid in (("2001:db8:6::100", MAC6_LIVE, 1), ("2001:db8:6::101", MAC6_GONE, 2)):
            duid = "00:03:00:01:" + mac
            answer = kea6.command(
                "lease6-add",
                {"ip-address": ip, "duid": duid, "iaid": iaid, "hw-address": mac},
            )
            assert answer["result"] == 0, answer["text"]
        yield kea4, kea6, agent


def write_both(short_tmp: Path, agent: KeaAgent, services: tuple[str | None, ...]) -> Path:
    """A config naming the agent's one URL once per service (None: no ``service`` key), and
    a file inventory holding the live MACs."""
    inventory = short_tmp / "macs.txt"
    inventory.write_text(f"{MAC4}\n{MAC6_LIVE}\n", encoding="utf-8")
    lines = []
    for service in services:
        lines += ["[[servers]]", f'name = "kea-{service or "any"}"', 'kind = "kea"']
        lines.append(f"control_url = {toml_string(agent.url)}")
        if service is not None:
            lines.append(f'service = "{service}"')
        lines.append("")
    lines += [
        "[[inventory]]",
        'name = "vms"',
        'kind = "file"',
        f"path = {toml_string(str(inventory))}",
    ]
    lines += ["", "[reaper]", 'grace = "0s"', "", "[state]"]
    lines.append(f"path = {toml_string(str(short_tmp / 'state.db'))}")
    config = short_tmp / "leasewatch.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def test_one_agent_url_as_two_servers_by_service(
    short_tmp: Path, both: tuple[KeaServer, KeaServer, KeaAgent]
) -> None:
    """The same URL as two servers, service dhcp4 and dhcp6: each reads its own daemon's
    pools and leases; release --ip of the v6 orphan deletes it on kea-dhcp6 only."""
    kea4, kea6, agent = both
    config = write_both(short_tmp, agent, ("dhcp4", "dhcp6"))
    now = datetime.now(UTC)
    doc = cli_json(config, "report", now=now)
    servers = {p["server"] for p in doc["pools"] if p["kind"] == "address"}
    assert servers == {"kea-dhcp4", "kea-dhcp6"}
    v6_pools = [p for p in doc["pools"] if p["server"] == "kea-dhcp6"]
    assert [(p["size"], p["active"]) for p in v6_pools] == [(256, 2)]
    assert [o["ip"] for o in doc["orphans"]] == ["2001:db8:6::101"]

    result = run("-c", str(config), "release", "--ip", "2001:db8:6::101", now=now)
    assert result.status == 0, result.err
    assert "lease6-del" in result.out
    held6 = {x["ip-address"] for x in kea6.command("lease6-get-all")["arguments"]["leases"]}
    assert held6 == {"2001:db8:6::100"}
    held4 = {x["ip-address"] for x in kea4.command("lease4-get-all")["arguments"]["leases"]}
    assert held4 == {"198.18.1.10"}


def test_an_agent_serving_both_daemons_without_service_is_one_clear_line(
    short_tmp: Path, both: tuple[KeaServer, KeaServer, KeaAgent]
) -> None:
    """No service key at an agent forwarding to both: check is not OK, and says what to set."""
    _, _, agent = both
    config = write_both(short_tmp, agent, (None,))
    result = run("-c", str(config), "check", now=datetime.now(UTC))
    assert result.status != 0
    assert 'set service = "dhcp4" or "dhcp6"' in result.out + result.err
    assert "Traceback" not in result.err
