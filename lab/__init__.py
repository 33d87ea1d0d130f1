"""The embedded lab: real DHCP servers and dhclient "VMs" in network namespaces.

Shared by the tests (``tests/lab/``) and ``make demo`` (``python -m lab.demo``). Everything
lives in namespaces this package creates, with names unique per run, inside 198.18.0.0/15;
no real interface is ever touched. See ``lab.netns`` (namespaces, links, cleanup),
``lab.vm`` (the hypervisor and its dhclient VMs) and ``lab.isc`` (ISC dhcpd with OMAPI).
"""
