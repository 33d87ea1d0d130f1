"""``leasewatch mac take|give|list`` through the CLI, in-process and as parallel processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from tests.cli_helpers import NOW, run
from tests.macpool.pool_helpers import lease_block, pool_config

OTHER = "02:00:00:00:00:01"  # a live VM outside the pool: keeps the inventory healthy


def mac(n: int) -> str:
    """The pool's n-th MAC."""
    return f"52:54:00:5e:00:{n:02x}"


def test_take_prints_one_mac_and_records_it(tmp_path: Path) -> None:
    """Plain take prints the MAC alone (for $(...)); a second take gets the next one."""
    config = pool_config(tmp_path)
    first = run("-c", str(config), "mac", "take", "--vm", "web1")
    assert (first.status, first.out, first.err) == (0, f"{mac(0)}\n", "")
    second = run("-c", str(config), "mac", "take", "--format", "json")
    assert second.status == 0
    assert json.loads(second.out) == {
        "mac": mac(1),
        "vm": None,
        "ip": None,
        "why": "never used: the VM takes a new lease",
    }


def test_take_reuses_a_held_lease_and_skips_live_macs(tmp_path: Path) -> None:
    """A pool MAC dhcpd still holds a lease for (no VM has it) goes first; a live one never."""
    config = pool_config(
        tmp_path,
        leases=[
            lease_block("198.18.1.210", mac(9)),
            lease_block("198.18.1.211", mac(0)),
            lease_block("198.18.1.212", OTHER),
        ],
        live=[mac(0), OTHER],
    )
    got = run("-c", str(config), "mac", "take", "--vm", "web2", "--format", "json")
    assert got.status == 0, got.err
    doc = json.loads(got.out)
    assert (doc["mac"], doc["vm"], doc["ip"]) == (mac(9), "web2", "198.18.1.210")
    assert "still holds an active lease" in doc["why"] and "gets this address back" in doc["why"]
    assert json.loads(run("-c", str(config), "mac", "take", "--format", "json").out)["mac"] == mac(
        1
    )


def test_exhausted_pool_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """Both MACs of a two-MAC range taken: one line on stderr, nothing on stdout, exit 1."""
    config = pool_config(tmp_path, pool=f'range = ["{mac(0)}", "{mac(1)}"]')
    for _ in range(2):
        assert run("-c", str(config), "mac", "take").status == 0
    got = run("-c", str(config), "mac", "take")
    assert got.status == 1 and got.out == ""
    assert got.err.count("\n") == 1 and "MAC pool exhausted" in got.err, got.err


def test_give_returns_and_is_idempotent(tmp_path: Path) -> None:
    """give frees a taken MAC (taken again next), and exits 0 when it was already free."""
    config = pool_config(tmp_path)
    taken = run("-c", str(config), "mac", "take", "--vm", "a").out.strip()
    run("-c", str(config), "mac", "take", "--vm", "b")
    given = run("-c", str(config), "mac", "give", taken.upper())
    assert given.status == 0 and "was taken by a" in given.err
    again = run("-c", str(config), "mac", "give", taken)
    assert again.status == 0 and "was free" in again.err
    assert run("-c", str(config), "mac", "take").out.strip() == taken


def test_give_rejects_what_is_not_a_pool_mac(tmp_path: Path) -> None:
    """A non-MAC or a MAC outside the pool: one line, exit 1."""
    config = pool_config(tmp_path)
    for target, words in (("nope", "is not a MAC address"), (OTHER, "is not in the MAC pool")):
        got = run("-c", str(config), "mac", "give", target)
        assert got.status == 1 and got.err.count("\n") == 1 and words in got.err, got.err


def test_list_json_states(tmp_path: Path) -> None:
    """list: taken (with vm and the lease), live (not handed out), leased (free, with lease)."""
    config = pool_config(
        tmp_path,
        leases=[
            lease_block("198.18.1.210", mac(9)),
            lease_block("198.18.1.211", mac(3)),
            lease_block("198.18.1.212", OTHER),
        ],
        live=[mac(3), OTHER],
    )
    assert run("-c", str(config), "mac", "take", "--vm", "db").out.strip() == mac(9)
    (tmp_path / "dhcpd.leases").write_text(
        "".join(lease_block(*x) for x in [("198.18.1.211", mac(3)), ("198.18.1.212", OTHER)])
        + lease_block("198.18.1.213", mac(10), ends="2026/11/26 11:00:00")
        + lease_block("198.18.1.210", mac(9))
    )
    got = run("-c", str(config), "mac", "list", "--format", "json")
    assert got.status == 0, got.err
    assert json.loads(got.out) == [
        {
            "mac": mac(3),
            "state": "live",
            "vm": None,
            "ip": "198.18.1.211",
            "lease_ends": "2026-12-03T11:00:00+00:00",
            "seen": NOW.isoformat(timespec="seconds"),
        },
        {
            "mac": mac(9),
            "state": "taken",
            "vm": "db",
            "ip": "198.18.1.210",
            "lease_ends": "2026-12-03T11:00:00+00:00",
            "seen": None,
        },
        {
            "mac": mac(10),
            "state": "leased",
            "vm": None,
            "ip": "198.18.1.213",
            "lease_ends": "2026-11-26T11:00:00+00:00",
            "seen": None,
        },
    ]
    table = run("-c", str(config), "mac", "list")
    assert table.status == 0 and mac(9) in table.out and "taken" in table.out


def test_no_pool_configured_is_a_config_error(tmp_path: Path) -> None:
    """mac take without [macpool]: one config-error line, exit 3."""
    config = pool_config(tmp_path)
    config.write_text(config.read_text().replace('[macpool]\nprefix = "52:54:00:5e"', ""))
    got = run("-c", str(config), "mac", "take")
    assert got.status == 3 and got.err.count("\n") == 1 and "no [macpool] table" in got.err


def test_scan_returns_a_never_seen_mac_after_hold_and_keeps_pool_leases(tmp_path: Path) -> None:
    """A taken MAC no inventory lists returns after hold on a scan; its lease is live while
    taken (no orphan in report or scan, why says so), and once returned an orphan the
    reaper keeps for the next taker."""
    config = pool_config(
        tmp_path,
        leases=[lease_block("198.18.1.210", mac(9)), lease_block("198.18.1.212", OTHER)],
        live=[OTHER],
        more='hold = "10m"',
    )
    config.write_text(config.read_text() + '\n[reaper]\ngrace = "0s"\n')
    assert run("-c", str(config), "mac", "take", "--vm", "web").out.strip() == mac(9)
    soon = NOW + timedelta(minutes=5)
    report = json.loads(run("-c", str(config), "report", "--format", "json", now=soon).out)
    assert report["orphans"] == []
    why = run("-c", str(config), "why", mac(9), now=soon)
    assert "its VM may still be booting [live-pool-taken]" in why.out, why.out
    scan = run("-c", str(config), "scan", "--format", "json", now=soon)
    assert json.loads(scan.out)["plan"] == []
    listed = run("-c", str(config), "mac", "list", "--format", "json")
    assert json.loads(listed.out)[0]["state"] == "taken"
    later = NOW + timedelta(minutes=11)
    scan = run("-c", str(config), "scan", "--format", "json", now=later)
    (entry,) = json.loads(scan.out)["plan"]
    assert entry["action"] == "keep" and "kept for the next leasewatch mac take" in entry["why"]
    listed = run("-c", str(config), "mac", "list", "--format", "json", now=later)
    assert json.loads(listed.out)[0]["state"] == "leased"
    why = run("-c", str(config), "why", mac(9), now=later)
    assert "kept for the next leasewatch mac take" in why.out, why.out


def test_check_config_reports_overlaps(tmp_path: Path) -> None:
    """check-config warns of protected pool MACs, live MACs under the pool, vendor OUIs."""
    config = pool_config(tmp_path, live=[mac(4)], pool='prefix = "00:1b:21:5e"')
    config.write_text(
        config.read_text().replace("52:54:00:5e", "00:1b:21:5e")
        + "\n[reaper]\nprotect = ['00:1b:21:5e:00:07']\n"
    )
    (tmp_path / "macs.txt").write_text("00:1b:21:5e:00:04\n")
    got = run("-c", str(config), "check-config")
    assert got.status == 0
    warnings = [line for line in got.err.splitlines() if "warning" in line]
    assert len(warnings) == 3, got.err
    assert "vendor OUI real NICs use" in warnings[0]
    assert "[reaper] protect: 00:1b:21:5e:00:07" in warnings[1]
    assert "inventory hv lists: 00:1b:21:5e:00:04" in warnings[2]


def test_twenty_parallel_takes_get_twenty_distinct_macs(tmp_path: Path) -> None:
    """Twenty `leasewatch mac take` processes at once: twenty different MACs, all recorded."""
    config = pool_config(
        tmp_path,
        leases=[lease_block(f"198.18.1.{210 + i}", mac(100 + i)) for i in range(5)]
        + [lease_block("198.18.1.220", OTHER)],
        live=[OTHER],
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leasewatch",
                "-c",
                str(config),
                "mac",
                "take",
                "--vm",
                f"vm{i}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for i in range(20)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert all(status == 0 for status, _, _ in results), results
    macs = [out.strip() for _, out, _ in results]
    assert len(set(macs)) == 20
    assert {mac(100 + i) for i in range(5)} <= set(macs)  # the held leases went first
    listed = json.loads(run("-c", str(config), "mac", "list", "--format", "json").out)
    assert {e["mac"] for e in listed if e["state"] == "taken"} == set(macs)
    assert {e["vm"] for e in listed if e["state"] == "taken"} == {f"vm{i}" for i in range(20)}


def test_list_table_shows_vm_names_as_text(tmp_path: Path) -> None:
    """A VM name with rich markup and a control character is shown, never interpreted."""
    config = pool_config(tmp_path)
    assert run("-c", str(config), "mac", "take", "--vm", "[red]x\x1b").status == 0
    table = run("-c", str(config), "mac", "list")
    assert "[red]x" in table.out and "\x1b" not in table.out, table.out


def test_take_says_when_an_unhealthy_inventory_kept_it_from_reusing_a_lease(
    tmp_path: Path,
) -> None:
    """An inventory listing nobody while a pool MAC's lease is active is untrusted: take
    hands out an unleased MAC, exits 0, and says why on stderr."""
    config = pool_config(tmp_path, leases=[lease_block("198.18.1.210", mac(9))])
    got = run("-c", str(config), "mac", "take")
    assert (got.status, got.out) == (0, f"{mac(0)}\n")
    assert "inventory hv unhealthy" in got.err and got.err.count("\n") == 1, got.err
