"""Where leases and pools come from: one module per DHCP server kind."""
