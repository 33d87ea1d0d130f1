"""leasewatch: keep DHCP pools from running dry in virtualized fleets."""

__version__ = "0.1.0"
