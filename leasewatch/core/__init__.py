"""The pure analysis core: no I/O, no clock, no globals."""
