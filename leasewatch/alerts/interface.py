"""What every webhook format provides: a name from ``WebhookFormat`` and a pure ``payload``.

One module per platform (slack.py, mattermost.py, teams.py, discord.py, generic.py) subclasses
``Format``; ``formats.FORMATS`` maps each ``WebhookFormat`` to its adapter, and a test checks
that the map, this enum and the config's accepted values name the same formats.
"""

from __future__ import annotations

import abc
import enum
from typing import Any, ClassVar

from leasewatch.alerts.levels import Alert


class WebhookFormat(enum.StrEnum):
    """The ``format`` of a ``[[alerts.webhooks]]`` entry."""

    SLACK = "slack"
    MATTERMOST = "mattermost"
    TEAMS = "teams"
    DISCORD = "discord"
    GENERIC = "generic"


class Format(abc.ABC):
    """A chat platform's webhook body for an alert.

    ``payload`` is pure and total: whatever the alert holds (thousands of addresses, names of
    any length, control characters from a hostile host name), it returns a body the platform
    accepts, cutting text with an ellipsis where a documented limit would be exceeded.
    """

    name: ClassVar[WebhookFormat]

    @abc.abstractmethod
    def payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body to POST for ``alert``."""
