"""The application layer: every command as a function of (config, clock, sources).

``leasewatch.app.commands`` holds the functions, ``leasewatch.app.results`` the values
they return. The CLI, the daemon and the tests call these; only this room (and ``scan``)
wires the other rooms together. Renderers in ``leasewatch.report`` turn results into text.
"""
