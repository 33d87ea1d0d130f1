"""The MAC pool: hand out MACs whose DHCP leases come back to the next VM (issue 21).

``pool`` says which MACs are in it (pure), ``choose`` decides which MAC to hand out, what
each MAC's state is and which taken MACs return (pure, takes ``now``), ``store`` keeps the
taken MACs in the state file, and ``commands`` is what ``leasewatch mac ...`` and the scan
call: functions of (config, state, sources) that return result values.
"""
