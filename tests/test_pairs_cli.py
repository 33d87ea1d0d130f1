"""A pair through the CLI: two ISC journals declared partners, reported once in every
format, with each member's health; one member unreadable is a warning, not half a pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import run

CONF = """
subnet 198.18.1.0 netmask 255.255.255.0 {
  range 198.18.1.10 198.18.1.30;
}
"""


def journal(active: dict[int, str]) -> str:
    """A fresh pair's journal (even offsets free, odd backup) with ``active`` addresses."""
    blocks = []
    for i in range(21):
        ip = f"198.18.1.{10 + i}"
        if i in active:
            blocks.append(
                f"lease {ip} {{\n  starts 3 2026/11/25 10:00:00;\n  ends 4 2026/11/26 10:00:00;\n"
                f"  binding state active;\n  hardware ethernet {active[i]};\n}}\n"
            )
        else:
            state = "free" if i % 2 == 0 else "backup"
            blocks.append(f"lease {ip} {{\n  binding state {state};\n}}\n")
    return "".join(blocks)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """dhcp1 and dhcp2 declared partners; .10 active on both, .11 on dhcp1 only."""
    (tmp_path / "dhcpd.conf").write_text(CONF)
    (tmp_path / "one.leases").write_text(journal({0: "52:54:00:00:00:99", 1: "52:54:00:00:00:01"}))
    (tmp_path / "two.leases").write_text(journal({0: "52:54:00:00:00:99"}))
    (tmp_path / "macs.txt").write_text("52:54:00:00:00:01\n")
    path = tmp_path / "leasewatch.toml"
    servers = "".join(
        f'[[servers]]\nname = "{name}"\nkind = "isc"\nleases = "{tmp_path / f"{file}.leases"}"\n'
        f'dhcpd_conf = "{tmp_path / "dhcpd.conf"}"\n'
        for name, file in (("dhcp1", "one"), ("dhcp2", "two"))
    )
    path.write_text(
        servers.replace('kind = "isc"\n', 'kind = "isc"\npartner = "dhcp2"\n', 1)
        + f'[[inventory]]\nname = "hv"\nkind = "file"\npath = "{tmp_path / "macs.txt"}"\n'
        f'[state]\npath = "{tmp_path / "state.db"}"\n'
    )
    return path


def test_json_lists_the_pair_once_with_its_members(config: Path) -> None:
    """One network, one pool (21 free but the 2 active), one orphan, and the pair."""
    result = run("-c", str(config), "report", "--format", "json")
    assert result.status == 0, result.err
    doc = json.loads(result.out)
    (pool,) = doc["pools"]
    assert (pool["server"], pool["pair"], pool["size"], pool["active"], pool["backup"],
            pool["free"]) == ("dhcp1+dhcp2", "dhcp1+dhcp2", 21, 2, 9, 19)  # fmt: skip
    (net,) = doc["networks"]
    assert net["pair"] == "dhcp1+dhcp2"
    assert [(o["server"], o["ip"]) for o in doc["orphans"]] == [("dhcp1+dhcp2", "198.18.1.10")]
    (pair,) = doc["pairs"]
    assert pair["mode"] == "declared" and pair["release"] == "once"
    assert [(m["server"], m["readable"]) for m in pair["members"]] == [
        ("dhcp1", True), ("dhcp2", True),
    ]  # fmt: skip
    assert pair["hold_code"] == "keep-pair-state-unknown"


def test_table_csv_and_check_show_the_pair_once(config: Path) -> None:
    """The table has one pool row and a Pairs table, CSV one pool row, check one network."""
    table = run("-c", str(config), "report")
    assert table.out.count("198.18.1.0/24") == 1
    assert "Pairs (pools counted once)" in table.out and "dhcp1+dhcp2" in table.out
    csv = run("-c", str(config), "report", "--format", "csv").out.splitlines()
    pools = [x for x in csv if x.startswith("dhcp1+dhcp2,198.18.1.0/24,198.18.1.0/24,")]
    assert csv[0].endswith(",pair") and pools == [csv[1]] and csv[1].endswith(",dhcp1+dhcp2")
    check = run("-c", str(config), "check")
    assert check.status == 0, check.out
    assert check.out.count("'198.18.1.0/24'=2;;;0;21") == 1


def test_one_member_unreadable_reports_the_pair_from_the_other(
    config: Path, tmp_path: Path
) -> None:
    """dhcp2's journal gone: the pool from dhcp1 alone, a warning that makes check WARNING,
    and the plan releases nothing of the pair."""
    (tmp_path / "two.leases").unlink()
    doc = json.loads(run("-c", str(config), "report", "--format", "json").out)
    assert [p["server"] for p in doc["pools"]] == ["dhcp1+dhcp2"]
    assert doc["errors"] == []
    (warning,) = [w for w in doc["warnings"] if "pair" in w]
    assert warning.startswith("pair dhcp1+dhcp2: pair member dhcp2 could not be read")
    check = run("-c", str(config), "check")
    assert check.status == 1 and check.out.startswith("DHCP WARNING"), check.out
    scan = json.loads(run("-c", str(config), "scan", "--format", "json").out)
    assert [p["why_code"] for p in scan["plan"]] == ["keep-no-backend"]  # offline files
    assert [p["hold_code"] for p in scan["pairs"]] == ["keep-pair-unread"]


def failover_conf(role: str, me: str, peer: str) -> str:
    """A failover member's dhcpd.conf: peer "fo", the pool naming it."""
    return (
        f'failover peer "fo" {{ {role}; address {me}; peer address {peer}; }}\n'
        'subnet 198.18.1.0 netmask 255.255.255.0 { pool { failover peer "fo"; '
        "range 198.18.1.10 198.18.1.30; } }\n"
    )


def test_a_detected_pair_with_an_unreadable_journal_warns(tmp_path: Path) -> None:
    """dhcpd.conf says dhcp1 and dhcp2 are a failover pair; dhcp2's journal cannot be read:
    the pair is counted from dhcp1 with a warning (check WARNING), not an error."""
    (tmp_path / "one.conf").write_text(failover_conf("primary", "198.18.1.2", "198.18.1.3"))
    (tmp_path / "two.conf").write_text(failover_conf("secondary", "198.18.1.3", "198.18.1.2"))
    (tmp_path / "one.leases").write_text(journal({0: "52:54:00:00:00:99"}))
    path = tmp_path / "leasewatch.toml"
    path.write_text("".join(
        f'[[servers]]\nname = "{name}"\nkind = "isc"\nleases = "{tmp_path / f"{f}.leases"}"\n'
        f'dhcpd_conf = "{tmp_path / f"{f}.conf"}"\n'
        for name, f in (("dhcp1", "one"), ("dhcp2", "two"))
    ) + f'[state]\npath = "{tmp_path / "state.db"}"\n')  # fmt: skip
    doc = json.loads(run("-c", str(path), "report", "--format", "json").out)
    assert [(p["server"], p["size"], p["active"]) for p in doc["pools"]] == [
        ("dhcp1+dhcp2", 21, 1),
    ]  # fmt: skip
    (pair,) = doc["pairs"]
    assert (pair["mode"], pair["relationship"], pair["hold_code"]) == (
        "failover", "fo", "keep-pair-unread",
    )  # fmt: skip
    assert [(m["server"], m["role"], m["readable"]) for m in pair["members"]] == [
        ("dhcp1", "primary", True), ("dhcp2", "secondary", False),
    ]  # fmt: skip
    assert doc["errors"] == []
    check = run("-c", str(path), "check")
    assert check.status == 1 and check.out.startswith("DHCP WARNING"), check.out


@pytest.mark.parametrize("named", ["dhcp1+dhcp2", "dhcp1", "dhcp2"])
def test_release_server_takes_the_pair_or_a_member_meaning_the_pair(
    config: Path, named: str
) -> None:
    """``release --server`` by the pair's name or a member's: the pair's lease, one record
    named by the pair (refused here: offline journals have no release backend)."""
    result = run("-c", str(config), "release", "--ip", "198.18.1.10", "--server", named,
                 "--dry-run", "--format", "json")  # fmt: skip
    (record,) = json.loads(result.out)
    assert (record["server"], record["ip"], record["outcome"]) == (
        "dhcp1+dhcp2", "198.18.1.10", "refused",
    ), result.err  # fmt: skip
    assert record["detail"].startswith("no release backend"), record


def test_release_unknown_server_lists_the_pair_as_the_report_does(config: Path) -> None:
    """An unknown ``--server``: a usage error (exit 2) listing the pair once, by its name."""
    result = run("-c", str(config), "release", "--ip", "198.18.1.10", "--server", "dhcp3")
    assert result.status == 2
    assert result.err.strip().splitlines() == [
        "leasewatch: error: --server 'dhcp3': no such server (servers: dhcp1+dhcp2; a pair's"
        " member names its pair)"
    ]


@pytest.mark.parametrize("named", ["dhcp1+dhcp2", "dhcp1"])
def test_release_on_a_pair_with_a_member_unreadable_is_an_error(
    config: Path, tmp_path: Path, named: str
) -> None:
    """A member of the named pair cannot be read: nothing is released, one error line
    naming the pair and the member's problem (exit 1)."""
    (tmp_path / "two.leases").unlink()
    result = run("-c", str(config), "release", "--ip", "198.18.1.10", "--server", named)
    assert result.status == 1
    (line,) = result.err.strip().splitlines()
    assert line.startswith("leasewatch: error: pair dhcp1+dhcp2: ") and "two.leases" in line
