"""Benchmarks: leasewatch's ISC parser vs dhcpd-pools and isc-dhcp-leases (``python -m bench``)."""
