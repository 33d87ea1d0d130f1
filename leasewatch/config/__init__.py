"""leasewatch's configuration: ``schema`` says what a valid config is, ``load`` reads one.

``reader`` holds the error-collecting TOML reader (file:line for every problem, all at
once); ``paths`` checks, for ``check-config``, that what the config names can be read.
"""

from __future__ import annotations

from leasewatch.config.load import load, parse
from leasewatch.config.schema import (
    DEFAULT_PATH,
    INVENTORY_KEYS,
    INVENTORY_KINDS,
    KEA_SERVICES,
    MAX_DURATION,
    SECRET_KEYS,
    SERVER_KINDS,
    WEBHOOK_FORMATS,
    AlertsConfig,
    Config,
    DaemonConfig,
    InventoryConfig,
    MacPoolConfig,
    OmapiConfig,
    ReaperConfig,
    Secret,
    ServerConfig,
    StateConfig,
    WebhookConfig,
    redacted,
)

__all__ = [
    "DEFAULT_PATH",
    "INVENTORY_KEYS",
    "INVENTORY_KINDS",
    "KEA_SERVICES",
    "MAX_DURATION",
    "SECRET_KEYS",
    "SERVER_KINDS",
    "WEBHOOK_FORMATS",
    "AlertsConfig",
    "Config",
    "DaemonConfig",
    "InventoryConfig",
    "MacPoolConfig",
    "OmapiConfig",
    "ReaperConfig",
    "Secret",
    "ServerConfig",
    "StateConfig",
    "WebhookConfig",
    "load",
    "parse",
    "redacted",
]
