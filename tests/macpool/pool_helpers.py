"""A config with a pool over a small dhcpd.leases and a file inventory, for the CLI tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

DHCPD_CONF = """
subnet 198.18.1.192 netmask 255.255.255.224 {
  range 198.18.1.202 198.18.1.222;
}
"""


def lease_block(ip: str, mac: str, ends: str = "2026/12/03 11:00:00") -> str:
    """An active dhcpd.leases block for ``mac`` on ``ip`` (starting 2026-11-25 11:00 UTC)."""
    return (
        f"lease {ip} {{\n  starts 3 2026/11/25 11:00:00;\n  ends 4 {ends};\n"
        "  binding state active;\n  next binding state free;\n"
        f"  hardware ethernet {mac};\n}}\n"
    )


def pool_config(
    tmp_path: Path,
    *,
    leases: Sequence[str] = (),
    live: Sequence[str] = (),
    pool: str = 'prefix = "52:54:00:5e"',
    more: str = "",
) -> Path:
    """Write dhcpd.conf, dhcpd.leases (``leases`` blocks), the inventory (``live`` MACs) and
    a leasewatch config with ``[macpool]`` ``pool``; return the config's path."""
    (tmp_path / "dhcpd.conf").write_text(DHCPD_CONF)
    (tmp_path / "dhcpd.leases").write_text("".join(leases))
    (tmp_path / "macs.txt").write_text("".join(f"{m}\n" for m in live))
    path = tmp_path / "leasewatch.toml"
    path.write_text(
        f"""
[[servers]]
name = "dhcp1"
kind = "isc"
leases = "{tmp_path / "dhcpd.leases"}"
dhcpd_conf = "{tmp_path / "dhcpd.conf"}"
omapi = {{ host = "127.0.0.1", port = 7911, key_name = "omapi_key", key = "c2VjcmV0" }}

[[inventory]]
name = "hv"
kind = "file"
path = "{tmp_path / "macs.txt"}"

[state]
path = "{tmp_path / "state.db"}"

[macpool]
{pool}
{more}
"""
    )
    return path
