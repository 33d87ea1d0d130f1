"""The pure rules: which alerts a scan sends, hysteresis, memory, retries of failed sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from ipaddress import IPv4Address

import pytest

from leasewatch.alerts.levels import (
    Alert,
    AlertKind,
    Memory,
    classify,
    dump_memory,
    load_memory,
    plan,
    remember,
    settle,
    transitions,
)
from leasewatch.config import AlertsConfig
from leasewatch.model import (
    Analysis,
    AuditRecord,
    BindingState,
    Finding,
    InventorySnapshot,
    Lease,
    Level,
    Outcome,
    Reason,
    ServerSnapshot,
    Thresholds,
    Verdict,
)
from tests.alerts.alert_helpers import T0, THRESHOLDS, alerts_config, analysis, at, usage, webhook

CONFIG = alerts_config()


def scan(
    result: Analysis,
    memory: Mapping[str, Memory],
    config: AlertsConfig = CONFIG,
    *,
    delivered: bool = True,
    **options: object,
) -> tuple[list[Alert], dict[str, Memory]]:
    """One scan of one channel: the alerts it sends, and its memory after delivery."""
    step = transitions(result, memory, config, result.now, **options)  # type: ignore[arg-type]
    out = step.memory
    for alert in step.alerts:
        out = remember(out, alert, delivered, result.now)
    return list(step.alerts), out


def kinds(alerts: list[Alert]) -> list[tuple[AlertKind, Level]]:
    return [(a.kind, a.level) for a in alerts]


def test_classify_trips_on_ratio_or_free_whichever_first() -> None:
    """Utilization >= warn_at or free <= warn_free: the first threshold that trips wins."""
    assert classify(usage(16), THRESHOLDS) is Level.OK  # 76 %
    assert classify(usage(17), THRESHOLDS) is Level.WARN  # 81 %
    assert classify(usage(19), THRESHOLDS) is Level.CRITICAL  # 90.5 %
    by_count = Thresholds(warn_at=1.0, critical_at=1.0, warn_free=100, critical_free=10)
    assert classify(usage(65536 - 101, size=65536), by_count) is Level.OK
    assert classify(usage(65536 - 100, size=65536), by_count) is Level.WARN
    assert classify(usage(65536 - 10, size=65536), by_count) is Level.CRITICAL


def test_two_scans_of_a_critical_pool_alert_once() -> None:
    """The first scan of a critical pool alerts; the same state again sends nothing."""
    alerts, memory = scan(analysis(usage(20)), {})
    assert kinds(alerts) == [(AlertKind.LEVEL, Level.CRITICAL)]
    assert alerts[0].previous is Level.OK
    assert alerts[0].key == "dhcp1/lab"
    assert alerts[0].text == "dhcp1/lab is CRITICAL: 95.2% used (20 of 21 active, 1 free), was ok"
    again, _ = scan(analysis(usage(20), now=at(5)), memory)
    assert again == []


def test_ok_pool_sends_nothing_at_first_scan() -> None:
    """A healthy pool has nothing to say, even to a channel that knows nothing yet."""
    alerts, memory = scan(analysis(usage(3)), {})
    assert alerts == []
    assert memory["dhcp1/lab"].level is Level.OK


def test_up_and_down_one_message_per_change_and_one_recovery() -> None:
    """ok -> warn -> critical -> warn -> ok: four messages, the last one a recovery."""
    memory: dict[str, Memory] = {}
    sent = []
    for minute, active in enumerate([10, 17, 17, 20, 20, 17, 17, 10, 10]):
        alerts, memory = scan(analysis(usage(active), now=at(minute)), memory)
        sent.extend(alerts)
    assert [(a.kind, a.previous, a.level) for a in sent] == [
        (AlertKind.LEVEL, Level.OK, Level.WARN),
        (AlertKind.LEVEL, Level.WARN, Level.CRITICAL),
        (AlertKind.LEVEL, Level.CRITICAL, Level.WARN),
        (AlertKind.RECOVERED, Level.WARN, Level.OK),
    ]
    assert sent[-1].text == "dhcp1/lab recovered: 47.6% used (10 of 21 active, 11 free), was warn"


def test_hysteresis_a_pool_hovering_at_the_threshold_does_not_flap() -> None:
    """17 <-> 16 of 21 (81 % / 76 %, warn at 80 %) stays warn; it recovers only at 15."""
    memory: dict[str, Memory] = {}
    sent = []
    for minute, active in enumerate([17, 16, 17, 16, 17, 16]):
        alerts, memory = scan(analysis(usage(active), now=at(minute)), memory)
        sent.extend(alerts)
    assert kinds(sent) == [(AlertKind.LEVEL, Level.WARN)]
    assert memory["dhcp1/lab"].level is Level.WARN
    alerts, memory = scan(analysis(usage(15), now=at(10)), memory)
    assert kinds(alerts) == [(AlertKind.RECOVERED, Level.OK)]


def test_hysteresis_margin_is_two_points_on_a_large_pool() -> None:
    """On 1000 addresses a warn pool comes down below 78 %, not at 79.9 %."""
    _, memory = scan(analysis(usage(800, size=1000)), {})
    assert memory["dhcp1/lab"].level is Level.WARN
    alerts, memory = scan(analysis(usage(790, size=1000), now=at(1)), memory)
    assert alerts == []
    alerts, memory = scan(analysis(usage(781, size=1000), now=at(2)), memory)
    assert alerts == []
    alerts, _ = scan(analysis(usage(779, size=1000), now=at(3)), memory)
    assert kinds(alerts) == [(AlertKind.RECOVERED, Level.OK)]


def test_hysteresis_on_free_addresses_needs_one_more() -> None:
    """warn_free = 4: warn at 4 free; 5 free stays warn; 6 free recovers."""
    by_count = Thresholds(warn_at=1.0, critical_at=1.0, warn_free=4, critical_free=1)
    config = AlertsConfig(thresholds=by_count)
    _, memory = scan(analysis(usage(96, 100, by_count)), {}, config)
    assert memory["dhcp1/lab"].level is Level.WARN
    alerts, memory = scan(analysis(usage(95, 100, by_count), now=at(1)), memory, config)
    assert alerts == []
    alerts, _ = scan(analysis(usage(94, 100, by_count), now=at(2)), memory, config)
    assert kinds(alerts) == [(AlertKind.RECOVERED, Level.OK)]


def test_critical_falls_to_warn_not_ok_while_still_above_warn() -> None:
    """From critical, a drop to 85 % (warn) reports warn, hysteresis applied to critical."""
    _, memory = scan(analysis(usage(20)), {})
    alerts, memory = scan(analysis(usage(18), now=at(1)), memory)  # 85.7 %: within margin
    assert alerts == []
    alerts, _ = scan(analysis(usage(17), now=at(2)), memory)  # 81 %: clear of 90 % by > 1 addr
    assert [(a.kind, a.previous, a.level) for a in alerts] == [
        (AlertKind.LEVEL, Level.CRITICAL, Level.WARN)
    ]


def test_per_network_override_thresholds() -> None:
    """A network's own thresholds replace the defaults."""
    config = AlertsConfig(
        thresholds=THRESHOLDS, overrides={"lab": Thresholds(warn_at=0.5, critical_at=0.6)}
    )
    strict = Thresholds(warn_at=0.5, critical_at=0.6)
    _, memory = scan(analysis(usage(13, thresholds=strict)), {}, config)  # 62 %: critical
    assert memory["dhcp1/lab"].level is Level.CRITICAL
    # 57 %: warn by the override; the margin is one address (4.8 %), 60 % - 4.8 % = 55.2 %
    alerts, _ = scan(analysis(usage(11, thresholds=strict), now=at(1)), memory, config)
    assert kinds(alerts) == [(AlertKind.LEVEL, Level.WARN)]


def test_failed_delivery_is_retried_next_scan() -> None:
    """An undelivered change is sent again at the next scan, and only once delivered."""
    alerts, memory = scan(analysis(usage(20)), {}, delivered=False)
    assert kinds(alerts) == [(AlertKind.LEVEL, Level.CRITICAL)]
    assert memory["dhcp1/lab"].notified_level is None
    alerts, memory = scan(analysis(usage(20), now=at(5)), memory)
    assert kinds(alerts) == [(AlertKind.LEVEL, Level.CRITICAL)]
    assert memory["dhcp1/lab"].notified_level is Level.CRITICAL
    assert memory["dhcp1/lab"].notified_at == at(5)
    alerts, _ = scan(analysis(usage(20), now=at(10)), memory)
    assert alerts == []


def test_change_and_back_while_undelivered_sends_nothing() -> None:
    """warn (failed) then ok again: the channel never heard of warn, so no recovery either."""
    _, memory = scan(analysis(usage(17)), {}, delivered=False)
    alerts, _ = scan(analysis(usage(5), now=at(1)), memory)
    assert alerts == []


def test_reminder_every_repeat_while_not_ok() -> None:
    """With repeat = 1h, an unchanged critical pool is reminded hourly, not every scan."""
    config = alerts_config(repeat=timedelta(hours=1))
    _, memory = scan(analysis(usage(20)), {}, config)
    alerts, memory = scan(analysis(usage(20), now=at(59)), memory, config)
    assert alerts == []
    alerts, memory = scan(analysis(usage(20), now=at(60)), memory, config)
    assert kinds(alerts) == [(AlertKind.REMINDER, Level.CRITICAL)]
    assert alerts[0].text.startswith("dhcp1/lab is still CRITICAL since 2024-05-01T12:00:00Z")
    alerts, memory = scan(analysis(usage(20), now=at(90)), memory, config)
    assert alerts == []
    alerts, _ = scan(analysis(usage(20), now=at(121)), memory, config)
    assert kinds(alerts) == [(AlertKind.REMINDER, Level.CRITICAL)]


def test_no_reminder_without_repeat_or_when_ok() -> None:
    """No repeat configured: silence; an ok pool is never reminded."""
    _, memory = scan(analysis(usage(20)), {})
    alerts, _ = scan(analysis(usage(20), now=at(60 * 24 * 7)), memory)
    assert alerts == []
    config = alerts_config(repeat=timedelta(minutes=1))
    _, memory = scan(analysis(usage(2)), {}, config)
    alerts, _ = scan(analysis(usage(2), now=at(600)), memory, config)
    assert alerts == []


def test_unhealthy_inventory_alerts_once_and_once_when_back() -> None:
    """A failing inventory alerts when it fails and when it recovers, not in between."""
    down = InventorySnapshot("libvirt1", "libvirt", healthy=False, reason="connection refused")
    up = InventorySnapshot("libvirt1", "libvirt", macs=frozenset({"52:54:00:00:00:01"}))
    alerts, memory = scan(analysis(inventories=(down,)), {})
    assert [(a.kind, a.server, a.text) for a in alerts] == [
        (AlertKind.SOURCE_DOWN, "libvirt1", "source libvirt1 is down: connection refused")
    ]
    assert alerts[0].key == "source:libvirt1"
    alerts, memory = scan(analysis(inventories=(down,), now=at(5)), memory)
    assert alerts == []
    alerts, memory = scan(analysis(inventories=(up,), now=at(10)), memory)
    assert [(a.kind, a.level) for a in alerts] == [(AlertKind.SOURCE_UP, Level.OK)]
    alerts, _ = scan(analysis(inventories=(up,), now=at(15)), memory)
    assert alerts == []


def test_unreadable_server_alerts_and_keeps_its_network_levels() -> None:
    """A server that cannot be read alerts once; its networks' levels survive the outage."""
    ok_server = ServerSnapshot("dhcp1", "isc")
    bad_server = ServerSnapshot("dhcp1", "isc", error="cannot read /var/lib/dhcp/dhcpd.leases")
    _, memory = scan(analysis(usage(20), servers=(ok_server,)), {})
    alerts, memory = scan(analysis(servers=(bad_server,), now=at(5)), memory)
    assert kinds(alerts) == [(AlertKind.SOURCE_DOWN, Level.CRITICAL)]
    assert memory["dhcp1/lab"].notified_level is Level.CRITICAL  # kept while unreadable
    alerts, memory = scan(analysis(usage(20), servers=(ok_server,), now=at(10)), memory)
    assert kinds(alerts) == [(AlertKind.SOURCE_UP, Level.OK)]  # no second critical


def test_networks_that_are_gone_are_forgotten() -> None:
    """A network no longer in a readable server's analysis leaves the memory."""
    _, memory = scan(analysis(usage(20), servers=(ServerSnapshot("dhcp1", "isc"),)), {})
    _, memory = scan(analysis(servers=(ServerSnapshot("dhcp1", "isc"),), now=at(1)), memory)
    assert "dhcp1/lab" not in memory


def orphan(ip: str, network: str = "lab") -> Finding:
    lease = Lease(IPv4Address(ip), BindingState.ACTIVE, mac="52:54:00:00:00:09", server="dhcp1")
    return Finding(lease, Verdict.ORPHAN, Reason.ORPHAN_NOT_SEEN, network)


def test_new_orphans_alert_once_each_when_enabled() -> None:
    """on_orphans: each orphaned address is announced once; later scans name only new ones."""
    config = alerts_config(on_orphans=True)
    first = Analysis(now=T0, orphans=(orphan("198.18.0.12"), orphan("198.18.0.9")))
    alerts, memory = scan(first, {}, config)
    assert [(a.kind, a.addresses, a.orphans) for a in alerts] == [
        (AlertKind.ORPHANS, ("198.18.0.9", "198.18.0.12"), 2)
    ]
    assert alerts[0].text == (
        "dhcp1/lab: 2 new orphaned lease(s) (2 in all): 198.18.0.9, 198.18.0.12"
    )
    again, memory = scan(replace(first, now=at(5)), memory, config)
    assert again == []
    more = Analysis(now=at(10), orphans=(orphan("198.18.0.9"), orphan("198.18.0.30")))
    alerts, memory = scan(more, memory, config)
    assert [a.addresses for a in alerts] == [("198.18.0.30",)]
    assert memory["orphans:dhcp1/lab"].detail == "198.18.0.9,198.18.0.30"  # .12 was released
    assert scan(first, {}, CONFIG)[0] == []  # off by default


def test_releases_alert_when_enabled() -> None:
    """on_release: the scan's released leases are summed up per server; refusals are not."""
    config = alerts_config(on_release=True)
    records = [
        AuditRecord(T0, "dhcp1", IPv4Address("198.18.0.7"), None, None, "orphan", Outcome.RELEASED),
        AuditRecord(T0, "dhcp1", IPv4Address("198.18.0.5"), None, None, "orphan", Outcome.RELEASED),
        AuditRecord(T0, "dhcp1", IPv4Address("198.18.0.6"), None, None, "orphan", Outcome.REFUSED),
    ]
    alerts, _ = scan(analysis(), {}, config, releases=records)
    assert [(a.kind, a.server, a.addresses, a.text) for a in alerts] == [
        (
            AlertKind.RELEASED,
            "dhcp1",
            ("198.18.0.5", "198.18.0.7"),
            "dhcp1: released 2 orphaned lease(s): 198.18.0.5, 198.18.0.7",
        )
    ]
    assert scan(analysis(), {}, CONFIG, releases=records)[0] == []


def test_forecast_alerts_once_when_within_on_forecast() -> None:
    """A forecast exhaustion within on_forecast is announced once, and again if it returns."""
    config = alerts_config(on_forecast=timedelta(hours=6))
    far = {"dhcp1/lab": at(60 * 10)}
    near = {"dhcp1/lab": at(60 * 3)}
    alerts, memory = scan(analysis(), {}, config, exhaustion=far)
    assert alerts == []
    alerts, memory = scan(analysis(now=at(1)), memory, config, exhaustion=near)
    assert [a.kind for a in alerts] == [AlertKind.FORECAST]
    assert alerts[0].text == (
        "dhcp1/lab is forecast to run out of addresses at 2024-05-01T15:00:00Z (in 2h59m)"
    )
    alerts, memory = scan(analysis(now=at(2)), memory, config, exhaustion=near)
    assert alerts == []
    _, memory = scan(analysis(now=at(3)), memory, config, exhaustion=far)
    alerts, _ = scan(analysis(now=at(4)), memory, config, exhaustion=near)
    assert [a.kind for a in alerts] == [AlertKind.FORECAST]  # a new forecast is told again


def test_memory_round_trips_through_plain_dicts() -> None:
    """to_dict gives strings only; from_dict restores the same Memory."""
    memory = Memory(Level.WARN, T0, Level.CRITICAL, at(5), detail="198.18.0.1")
    data = memory.to_dict()
    assert data == {
        "level": "warn",
        "since": "2024-05-01T12:00:00Z",
        "notified_level": "critical",
        "notified_at": "2024-05-01T12:05:00Z",
        "detail": "198.18.0.1",
    }
    assert Memory.from_dict(data) == memory
    fresh = Memory(Level.OK, T0)
    assert Memory.from_dict(fresh.to_dict()) == fresh


def test_memory_from_a_bad_row_raises_value_error() -> None:
    """A corrupt stored row is a ValueError the state module can report, not a crash."""
    with pytest.raises(ValueError):
        Memory.from_dict({"level": "purple", "since": "2024-05-01T12:00:00Z"})


def test_plan_tells_each_webhook_once_even_when_one_failed() -> None:
    """Two webhooks, one fails: only the failing one is sent the change again."""
    hooks = (webhook("ops", "slack", "http://x/a"), webhook("net", "teams", "http://x/b"))
    config = alerts_config(*hooks)
    first = plan(analysis(usage(20)), {}, config, T0)
    assert {name: kinds(list(a)) for name, a in first.alerts.items()} == {
        "ops": [(AlertKind.LEVEL, Level.CRITICAL)],
        "net": [(AlertKind.LEVEL, Level.CRITICAL)],
    }

    class Result:
        def __init__(self, webhook: str, alert: Alert, ok: bool) -> None:
            self.webhook, self.alert, self.ok = webhook, alert, ok

    results = [
        Result("ops", first.alerts["ops"][0], True),
        Result("net", first.alerts["net"][0], False),
    ]
    memory = settle(first, results, T0)
    second = plan(analysis(usage(20), now=at(5)), memory, config, at(5))
    assert {name: kinds(list(a)) for name, a in second.alerts.items()} == {
        "ops": [],
        "net": [(AlertKind.LEVEL, Level.CRITICAL)],
    }


def test_plan_drops_webhooks_no_longer_configured() -> None:
    """Memory of a removed webhook is not carried over."""
    config = alerts_config(webhook("ops", "slack", "http://x/a"))
    old = {"gone": {"dhcp1/lab": Memory(Level.WARN, T0, Level.WARN, T0)}}
    result = plan(analysis(usage(20)), old, config, T0)
    assert set(result.memory) == {"ops"}


def test_memory_of_all_webhooks_dumps_and_loads_dropping_bad_rows() -> None:
    """dump_memory/load_memory round-trip; a corrupt entry is forgotten, not fatal."""
    memory = {"ops": {"dhcp1/lab": Memory(Level.WARN, T0, Level.WARN, at(1))}, "net": {}}
    rows = dump_memory(memory)
    assert rows == {
        "ops": {
            "dhcp1/lab": {
                "level": "warn",
                "since": "2024-05-01T12:00:00Z",
                "notified_level": "warn",
                "notified_at": "2024-05-01T12:01:00Z",
                "detail": "",
            }
        },
        "net": {},
    }
    assert load_memory(rows) == memory
    rows["ops"]["source:x"] = {"level": "nope"}
    rows["ops"]["dhcp1/other"] = "garbage"
    assert load_memory(rows) == memory


def test_empty_network_is_never_full() -> None:
    """A network with no addresses is ok even with a free-count threshold (as the core)."""
    by_count = Thresholds(warn_at=0.8, critical_at=0.9, warn_free=4, critical_free=1)
    assert classify(usage(0, size=0, thresholds=by_count), by_count) is Level.OK
