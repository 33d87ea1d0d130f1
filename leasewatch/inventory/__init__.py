"""Where the live VMs' MACs come from: one module per hypervisor or source kind."""
