"""Which alerts a scan should send, and what each chat channel has been told: pure.

Nothing here reads a clock, a file or the network: ``now`` is an argument and the remembered
state (``Memory``, one per key and per webhook) comes in and goes out as plain values that
``state.py`` stores in SQLite.

Keys of the memory:

- ``"SERVER/NETWORK"``: a network's fill level (ok, warn, critical);
- ``"source:NAME"``: an inventory source that is unhealthy, or a DHCP server that could not be
  read (critical while down, ok when back);
- ``"orphans:SERVER/NETWORK"``: the orphaned addresses a channel has been told about
  (``Memory.detail``, comma-separated), so only new ones are announced;
- ``"forecast:SERVER/NETWORK"``: whether an exhaustion forecast has been announced.

Rules (one channel = one webhook; ``plan`` runs them for every webhook):

- a network alerts when its level differs from the level the channel was last *told*
  (``notified_level``): ok -> warn -> critical and back down; back to ok sends one
  ``recovered``. An alert whose delivery failed leaves ``notified_level`` unchanged, so the
  next scan sends it again (``remember`` records a delivery);
- an unchanged level sends nothing, except a ``reminder`` every ``repeat`` (when configured)
  while the level is not ok;
- hysteresis: a level goes *up* as soon as the thresholds say so, but comes *down* only when
  the network is clear of the threshold by a margin: utilization below the threshold by
  ``max(2 percentage points, 1 address)`` and, for free-address thresholds, more than one
  address above them. A pool hovering at 80 % of 21 addresses (16 <-> 17 active) therefore
  alerts once, not at every scan;
- an unhealthy inventory or unreadable server alerts once, and once when it is back;
- new orphans (``on_orphans``) and releases done (``on_release``) alert when enabled;
  releases are not retried when their delivery fails (they are history, not a state).

Level semantics, as dhcpd-pools' ``--warning``/``--warn-count`` (the first that trips wins):
warn when ``utilization >= warn_at`` or ``free <= warn_free``; critical likewise with
``critical_at``/``critical_free``. The core computes ``NetworkUsage.level`` with the same rule;
this module only needs the thresholds again to know when a level may come *down*.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from leasewatch.config import AlertsConfig
from leasewatch.model import (
    Analysis,
    AuditRecord,
    Finding,
    Level,
    NetworkUsage,
    Outcome,
    Thresholds,
    figure,
    format_duration,
)

# Hysteresis margins (see the module docstring): a level comes down only when the network is
# clear of the threshold by this much.
RATIO_MARGIN = 0.02  # 2 percentage points of utilization ...
ADDRESS_MARGIN = 1  # ... or one address, whichever is larger

# How many addresses an orphan/release alert lists in its text (payloads may list fewer).
LISTED = 10


class AlertKind(enum.StrEnum):
    """Why a message is sent."""

    LEVEL = "level"  # a network's level changed (up, or down but not to ok)
    RECOVERED = "recovered"  # a network came back to ok
    REMINDER = "reminder"  # unchanged, not ok, and `repeat` has passed
    ORPHANS = "orphans"  # new orphaned leases
    RELEASED = "released"  # leases released by the reaper
    SOURCE_DOWN = "source_down"  # an inventory is unhealthy or a server unreadable
    SOURCE_UP = "source_up"  # ... and it is back
    TEST = "test"  # `leasewatch alert-test`
    FORECAST = "forecast"  # a network is forecast to run dry soon


@dataclass(frozen=True, slots=True)
class Memory:
    """What one channel knows about one key: the current level, and what it was told.

    ``level``/``since``: the level after hysteresis and when it began. ``notified_level``/
    ``notified_at``: the last level delivered to the channel, and when (None: never told).
    ``detail``: for ``orphans:`` keys, the addresses already announced (comma-separated).
    """

    level: Level
    since: datetime
    notified_level: Level | None = None
    notified_at: datetime | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, str | None]:
        """Plain strings for storage (datetimes as ISO 8601, UTC)."""
        return {
            "level": self.level.value,
            "since": iso(self.since),
            "notified_level": self.notified_level.value if self.notified_level else None,
            "notified_at": iso(self.notified_at) if self.notified_at else None,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Memory:
        """The inverse of ``to_dict``; raises ``ValueError`` on a malformed row."""
        notified = data.get("notified_level")
        notified_at = data.get("notified_at")
        return cls(
            level=Level(data["level"]),
            since=_parse_time(data["since"]),
            notified_level=Level(notified) if notified else None,
            notified_at=_parse_time(notified_at) if notified_at else None,
            detail=str(data.get("detail") or ""),
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """One message to send, independent of the chat platform that will show it.

    For source alerts ``server`` is the source's (inventory's or server's) name and
    ``network`` is empty. ``addresses`` lists the addresses concerned by orphan and release
    alerts. ``key`` names the ``Memory`` entry this alert settles (empty: none).
    """

    kind: AlertKind
    server: str
    network: str
    level: Level
    previous: Level | None
    utilization: float
    size: int
    active: int
    free: int
    orphans: int
    at: datetime
    text: str
    addresses: tuple[str, ...] = ()
    key: str = ""
    site: str = ""  # [daemon] site: which leasewatch speaks, when many share a channel


@dataclass(frozen=True, slots=True)
class Step:
    """What one channel should be sent now, and its memory once the scan is seen."""

    alerts: tuple[Alert, ...]
    memory: dict[str, Memory]


@dataclass(frozen=True, slots=True)
class Plan:
    """``Step`` for every webhook, by webhook name."""

    alerts: dict[str, tuple[Alert, ...]] = field(default_factory=dict)
    memory: dict[str, dict[str, Memory]] = field(default_factory=dict)


def network_key(server: str, network: str) -> str:
    return f"{server}/{network}"


def source_key(name: str) -> str:
    return f"source:{name}"


def classify(
    usage: NetworkUsage, thresholds: Thresholds, *, ratio_margin: float = 0.0, free_margin: int = 0
) -> Level:
    """The level of ``usage`` by the one rule (``Thresholds.level``); margins make it stricter."""
    return thresholds.level(
        usage.size, usage.active, usage.free, ratio_margin=ratio_margin, free_margin=free_margin
    )


def settled_level(usage: NetworkUsage, previous: Level | None, thresholds: Thresholds) -> Level:
    """The level after hysteresis: up at once, down only when clear of the threshold."""
    now = usage.level
    if previous is None or now.rank >= previous.rank:
        return now
    ratio_margin = max(RATIO_MARGIN, ADDRESS_MARGIN / usage.size) if usage.size else 0.0
    strict = classify(usage, thresholds, ratio_margin=ratio_margin, free_margin=ADDRESS_MARGIN)
    # stay at `previous` unless the stricter reading also puts it lower (never below `now`)
    return max(now, min(previous, strict, key=_rank), key=_rank)


def transitions(
    analysis: Analysis,
    memory: Mapping[str, Memory],
    config: AlertsConfig,
    now: datetime,
    *,
    releases: Sequence[AuditRecord] = (),
    exhaustion: Mapping[str, datetime] | None = None,
) -> Step:
    """The alerts one channel should receive for this scan, and its memory afterwards.

    ``releases``: the reaper's audit records of this scan (only ``released`` ones alert, and
    only with ``on_release``). ``exhaustion``: forecast exhaustion times by
    ``"SERVER/NETWORK"``; alerted once when within ``on_forecast``.

    The returned memory has levels updated but nothing marked as told: call ``remember`` for
    each alert with whether it was delivered.
    """
    alerts: list[Alert] = []
    out: dict[str, Memory] = {}
    seen: set[str] = set()

    for usage in analysis.networks:
        key = network_key(usage.server, usage.name)
        seen.add(key)
        old = memory.get(key)
        level = settled_level(usage, old.level if old else None, config.for_network(usage.name))
        mem = _moved(old, level, now)
        out[key] = mem
        alert = _network_alert(usage, mem, key, config.repeat, now)
        if alert is not None:
            alerts.append(alert)

    for name, down, reason in _sources(analysis):
        key = source_key(name)
        seen.add(key)
        old = memory.get(key)
        level = Level.CRITICAL if down else Level.OK
        mem = _moved(old, level, now)
        out[key] = mem
        told = mem.notified_level or Level.OK
        if level is not told:
            alerts.append(
                _source_alert(name, down=down, reason=reason, told=told, key=key, now=now)
            )

    if config.on_orphans:
        for (server, network), findings in _orphans_by_network(analysis.orphans).items():
            key = f"orphans:{network_key(server, network)}"
            seen.add(key)
            old = memory.get(key)
            current = {str(f.lease.ip) for f in findings}
            told_ips = set(_split(old.detail)) & current if old else set()
            mem = _moved(old, Level.WARN, now)
            out[key] = replace(mem, detail=",".join(sorted(told_ips, key=_ip_order)))
            new = sorted(current - told_ips, key=_ip_order)
            if new:
                alerts.append(
                    _orphans_alert(server, network, new=new, total=len(current), key=key, now=now)
                )

    if config.on_forecast is not None and exhaustion:
        for key_part, when in exhaustion.items():
            key = f"forecast:{key_part}"
            seen.add(key)
            old = memory.get(key)
            soon = when - now <= config.on_forecast
            mem = _moved(old, Level.WARN if soon else Level.OK, now)
            if not soon and mem.notified_level is not None:
                # the forecast moved away: forget it was told, so a new one is told again
                mem = replace(mem, notified_level=None, notified_at=None)
            out[key] = mem
            if soon and mem.notified_level is not Level.WARN:
                alerts.append(_forecast_alert(key_part, when, key, now))

    if config.on_release:
        alerts.extend(_release_alerts(releases, now))

    # Keep what this scan could not see (a server that could not be read has no networks in
    # the analysis; its levels must survive until it is back), drop what is gone for good.
    unreadable = {s.server for s in analysis.servers if s.error is not None}
    for key, mem in memory.items():
        if key in seen or key in out:
            continue
        if _server_of(key) in unreadable:
            out[key] = mem
    return Step(alerts=tuple(alerts), memory=out)


def remember(
    memory: Mapping[str, Memory], alert: Alert, delivered: bool, now: datetime
) -> dict[str, Memory]:
    """The memory after ``alert`` was (or was not) delivered: what the channel now knows."""
    out = dict(memory)
    if not delivered or not alert.key or alert.key not in out:
        return out
    mem = out[alert.key]
    if alert.kind is AlertKind.ORPHANS:
        told = set(_split(mem.detail)) | set(alert.addresses)
        out[alert.key] = replace(
            mem,
            notified_level=Level.WARN,
            notified_at=now,
            detail=",".join(sorted(told, key=_ip_order)),
        )
    else:
        out[alert.key] = replace(mem, notified_level=alert.level, notified_at=now)
    return out


def plan(
    analysis: Analysis,
    memory: Mapping[str, Mapping[str, Memory]],
    config: AlertsConfig,
    now: datetime,
    *,
    releases: Sequence[AuditRecord] = (),
    exhaustion: Mapping[str, datetime] | None = None,
    site: str = "",
) -> Plan:
    """``transitions`` for every configured webhook: each channel is told each change once.

    ``memory`` is by webhook name; webhooks no longer configured are dropped from the result.
    ``site`` (``[daemon] site``) is set on every alert.
    """
    alerts: dict[str, tuple[Alert, ...]] = {}
    memories: dict[str, dict[str, Memory]] = {}
    for webhook in config.webhooks:
        step = transitions(
            analysis,
            memory.get(webhook.name, {}),
            config,
            now,
            releases=releases,
            exhaustion=exhaustion,
        )
        alerts[webhook.name] = tuple(dataclasses.replace(a, site=site) for a in step.alerts)
        memories[webhook.name] = step.memory
    return Plan(alerts=alerts, memory=memories)


class Delivered(Protocol):
    """What ``settle`` needs of a delivery result (``deliver.Delivery`` is one)."""

    @property
    def webhook(self) -> str: ...
    @property
    def alert(self) -> Alert: ...
    @property
    def ok(self) -> bool: ...


def settle(
    plan_: Plan, delivered: Iterable[Delivered], now: datetime
) -> dict[str, dict[str, Memory]]:
    """The memory to store after delivery: what each webhook's channel now knows."""
    out = {name: dict(mem) for name, mem in plan_.memory.items()}
    for result in delivered:
        if result.webhook in out:
            out[result.webhook] = remember(out[result.webhook], result.alert, result.ok, now)
    return out


def dump_memory(memory: Mapping[str, Mapping[str, Memory]]) -> dict[str, dict[str, Any]]:
    """``{webhook: {key: Memory}}`` as plain JSON-able dicts, one per webhook, for storage."""
    return {
        webhook: {key: mem.to_dict() for key, mem in sorted(entries.items())}
        for webhook, entries in memory.items()
    }


def load_memory(rows: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Memory]]:
    """The inverse of ``dump_memory``. A malformed entry is dropped: forgetting it costs at
    most one repeated message, while refusing to load would silence every alert."""
    out: dict[str, dict[str, Memory]] = {}
    for webhook, entries in rows.items():
        loaded: dict[str, Memory] = {}
        if isinstance(entries, Mapping):
            for key, data in entries.items():
                try:
                    loaded[str(key)] = Memory.from_dict(data)
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue
        out[str(webhook)] = loaded
    return out


# --- helpers ----------------------------------------------------------------------------


def _rank(level: Level) -> int:
    return level.rank


def _moved(old: Memory | None, level: Level, now: datetime) -> Memory:
    """``old`` with ``level`` (``since`` reset when the level changed), or a new memory."""
    if old is None:
        return Memory(level=level, since=now)
    if old.level is level:
        return old
    return replace(old, level=level, since=now)


def _network_alert(
    usage: NetworkUsage, mem: Memory, key: str, repeat: timedelta | None, now: datetime
) -> Alert | None:
    told = mem.notified_level or Level.OK
    level = mem.level
    if level is not told:
        kind = AlertKind.RECOVERED if level is Level.OK else AlertKind.LEVEL
    elif (
        repeat is not None
        and level is not Level.OK
        and mem.notified_at is not None
        and now - mem.notified_at >= repeat
    ):
        kind = AlertKind.REMINDER
    else:
        return None
    where = network_key(usage.server, usage.name)
    active, size, free = (figure(n) for n in (usage.active, usage.size, usage.free))
    counts = f"{usage.utilization:.1%} used ({active} of {size} active, {free} free)"
    if kind is AlertKind.RECOVERED:
        text = f"{where} recovered: {counts}, was {told.value}"
    elif kind is AlertKind.REMINDER:
        text = f"{where} is still {level.value.upper()} since {iso(mem.since)}: {counts}"
    else:
        text = f"{where} is {level.value.upper()}: {counts}, was {told.value}"
    return Alert(
        kind=kind,
        server=usage.server,
        network=usage.name,
        level=level,
        previous=told,
        utilization=usage.utilization,
        size=usage.size,
        active=usage.active,
        free=usage.free,
        orphans=0,
        at=now,
        text=text,
        key=key,
    )


def _sources(analysis: Analysis) -> list[tuple[str, bool, str]]:
    """(name, down, reason) for every inventory and every server of the scan."""
    out = [(inv.source, not inv.healthy, inv.reason or "unhealthy") for inv in analysis.inventories]
    out.extend((srv.server, srv.error is not None, srv.error or "") for srv in analysis.servers)
    return out


def _source_alert(
    name: str, *, down: bool, reason: str, told: Level, key: str, now: datetime
) -> Alert:
    if down:
        text = f"source {name} is down: {reason}"
        kind, level = AlertKind.SOURCE_DOWN, Level.CRITICAL
    else:
        text = f"source {name} is back"
        kind, level = AlertKind.SOURCE_UP, Level.OK
    return _event(kind, name, "", level, text=text, now=now, previous=told, key=key)


def _event(
    kind: AlertKind,
    server: str,
    network: str,
    level: Level,
    *,
    text: str,
    now: datetime,
    previous: Level | None = None,
    orphans: int = 0,
    addresses: tuple[str, ...] = (),
    key: str = "",
) -> Alert:
    """An alert that carries no pool counts: a source, orphans, a forecast, releases."""
    return Alert(
        kind=kind,
        server=server,
        network=network,
        level=level,
        previous=previous,
        utilization=0.0,
        size=0,
        active=0,
        free=0,
        orphans=orphans,
        at=now,
        text=text,
        addresses=addresses,
        key=key,
    )


def _orphans_by_network(findings: Iterable[Finding]) -> dict[tuple[str, str], list[Finding]]:
    out: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        out.setdefault((finding.lease.server, finding.network or ""), []).append(finding)
    return out


def _orphans_alert(
    server: str, network: str, *, new: list[str], total: int, key: str, now: datetime
) -> Alert:
    where = network_key(server, network) if network else server
    text = f"{where}: {len(new)} new orphaned lease(s) ({total} in all): {_listed(new)}"
    return _event(
        AlertKind.ORPHANS,
        server,
        network,
        Level.WARN,
        text=text,
        now=now,
        orphans=len(new),
        addresses=tuple(new),
        key=key,
    )


def _forecast_alert(key_part: str, when: datetime, key: str, now: datetime) -> Alert:
    server, _, network = key_part.partition("/")
    text = (
        f"{key_part} is forecast to run out of addresses at {iso(when)}"
        f" (in {format_duration(max(when - now, timedelta(0)))})"
    )
    return _event(AlertKind.FORECAST, server, network, Level.WARN, text=text, now=now, key=key)


def _release_alerts(records: Sequence[AuditRecord], now: datetime) -> list[Alert]:
    by_server: dict[str, list[str]] = {}
    for record in records:
        if record.outcome is Outcome.RELEASED:
            by_server.setdefault(record.server, []).append(str(record.ip))
    alerts = []
    for server, ips in by_server.items():
        ips.sort(key=_ip_order)
        text = f"{server}: released {len(ips)} orphaned lease(s): {_listed(ips)}"
        alerts.append(
            _event(
                AlertKind.RELEASED,
                server,
                "",
                Level.OK,
                text=text,
                now=now,
                orphans=len(ips),
                addresses=tuple(ips),
            )
        )
    return alerts


def _server_of(key: str) -> str:
    """The server (or source) a memory key belongs to; names may contain ':' but not '/'."""
    for prefix in ("source:", "orphans:", "forecast:"):
        if key.startswith(prefix):
            key = key.removeprefix(prefix)
            break
    return key.split("/", 1)[0]


def _listed(ips: Sequence[str]) -> str:
    more = f" and {len(ips) - LISTED} more" if len(ips) > LISTED else ""
    return ", ".join(ips[:LISTED]) + more


def _split(detail: str) -> list[str]:
    return [item for item in detail.split(",") if item]


def _ip_order(ip: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in ip.split("."))
    except ValueError:
        return (1 << 32,)


def iso(when: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, one spelling of time in every message.

    A naive datetime is taken to be UTC already.
    """
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _parse_time(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
