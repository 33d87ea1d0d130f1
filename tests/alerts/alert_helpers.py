"""Builders shared by the alert tests: networks at a given fill, analyses, configs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from leasewatch.alerts.levels import Alert, AlertKind, classify
from leasewatch.config import AlertsConfig, Secret, WebhookConfig
from leasewatch.model import (
    Analysis,
    InventorySnapshot,
    Level,
    NetworkUsage,
    ServerSnapshot,
    Thresholds,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
THRESHOLDS = Thresholds(warn_at=0.8, critical_at=0.9)
SECRET_PATH = "/hooks/T0001/B0002/s3cr3t-t0ken-XYZ"

# A network gone critical from warn: the ordinary alert every format is shown with.
CRITICAL = Alert(
    kind=AlertKind.LEVEL,
    server="dhcp1",
    network="lab",
    level=Level.CRITICAL,
    previous=Level.WARN,
    utilization=20 / 21,
    size=21,
    active=20,
    free=1,
    orphans=0,
    at=T0,
    text="dhcp1/lab is CRITICAL: 95.2% used (20 of 21 active, 1 free), was warn",
    key="dhcp1/lab",
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def usage(
    active: int, size: int = 21, thresholds: Thresholds = THRESHOLDS, name: str = "lab"
) -> NetworkUsage:
    """A network with ``active`` of ``size`` addresses used, its level as the core rates it."""
    unrated = NetworkUsage("dhcp1", name, size, active, 0, 0, level=Level.OK)
    return replace(unrated, level=classify(unrated, thresholds))


def analysis(
    *networks: NetworkUsage,
    now: datetime = T0,
    servers: tuple[ServerSnapshot, ...] = (),
    inventories: tuple[InventorySnapshot, ...] = (),
) -> Analysis:
    return Analysis(now=now, networks=networks, servers=servers, inventories=inventories)


def webhook(name: str, fmt: str, url: str, timeout: float = 5.0) -> WebhookConfig:
    return WebhookConfig(name=name, format=fmt, url=Secret(url), timeout=timeout)


def alerts_config(*webhooks: WebhookConfig, **options: object) -> AlertsConfig:
    return AlertsConfig(thresholds=THRESHOLDS, webhooks=webhooks, **options)  # type: ignore[arg-type]
