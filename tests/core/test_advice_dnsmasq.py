"""Lease-time advice for a dnsmasq server names dnsmasq's own settings."""

from __future__ import annotations

from datetime import timedelta

from leasewatch.core.advice import Advice


def test_dnsmasq_advice_names_the_dhcp_range_lease_time() -> None:
    """dnsmasq: the lease time is the last field of dhcp-range (or libvirt's <lease>)."""
    advice = Advice(
        server="virbr0", network="198.18.122.0/24", kind="dnsmasq", window=timedelta(hours=12),
        vms=6, older_vms=0, lifetime_median=None, lifetime_p90=None, orphans=6,
        outlived_median=None, outlived_max=None, lease_time=timedelta(hours=1),
        recommended=timedelta(minutes=15), max_lease_time=timedelta(minutes=30),
        freed_peak=2, freed_mean=1.0, address_hours=1.0, note="",
    )  # fmt: skip
    assert advice.settings() == (
        "dhcp-range=<start>,<end>,<netmask>,900",
        "<lease expiry='900' unit='seconds'/> (libvirt network <range>)",
    )
