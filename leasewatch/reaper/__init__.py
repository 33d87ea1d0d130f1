"""Releasing orphaned leases: a pure plan, then one backend per server kind."""
