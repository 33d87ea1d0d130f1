"""Benchmarks: leasewatch's ISC parser against dhcpd-pools and isc-dhcp-leases (``python -m bench``)."""
