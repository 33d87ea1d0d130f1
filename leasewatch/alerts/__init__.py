"""Chat alerts: pure level transitions, one payload module per webhook format, delivery.

One scan, as ``scan.py`` calls it::

    memory = alerts.load_memory(state.alert_memory())   # {webhook: {key: Memory}}
    plan = alerts.plan(analysis, memory, config.alerts, now, releases=audit_records)
    deliveries = alerts.deliver_plan(plan, config.alerts.webhooks)
    state.save_alert_memory(alerts.dump_memory(alerts.settle(plan, deliveries, now)))
    errors = [str(e) for e in alerts.failures(deliveries)]  # one line per failing webhook

``leasewatch alert-test``: ``alerts.deliver([alerts.sample_alert(now)], webhooks)``.
"""

from leasewatch.alerts.deliver import Delivery, Policy, deliver, deliver_plan, failures
from leasewatch.alerts.formats import FORMATS, payload
from leasewatch.alerts.interface import Format, WebhookFormat
from leasewatch.alerts.levels import (
    Alert,
    AlertKind,
    Memory,
    Plan,
    Step,
    dump_memory,
    load_memory,
    plan,
    remember,
    settle,
    transitions,
)
from leasewatch.alerts.render import sample_alert

__all__ = [
    "FORMATS",
    "Alert",
    "AlertKind",
    "Delivery",
    "Format",
    "Memory",
    "Plan",
    "Policy",
    "Step",
    "WebhookFormat",
    "deliver",
    "deliver_plan",
    "dump_memory",
    "failures",
    "load_memory",
    "payload",
    "plan",
    "remember",
    "sample_alert",
    "settle",
    "transitions",
]
