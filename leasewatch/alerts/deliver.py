"""POST alerts to chat webhooks: bounded retries, a total time limit, and no URL in any text.

A webhook URL is a secret (whoever holds a Slack or Discord webhook URL can post to the
channel), and ``requests``' exceptions and urllib3's debug logs contain it. So:

- errors are built here from the exception's *type* and the socket error's ``errno``, never
  from its text, and are created outside any ``except`` block so that no traceback chains
  back to a ``requests`` exception;
- a response body quoted in an error has the URL (and its path) replaced by ``<redacted>``;
- while ``deliver`` runs, a logging filter on urllib3's loggers rewrites any record that
  contains a webhook URL or path (urllib3 logs ``"POST /services/T/B/secret HTTP/1.1" 200``
  at DEBUG level, which ``--debug`` would show).

Retries: on HTTP 429 and 5xx, and when the connection is refused or reset, up to ``attempts``
tries with exponential backoff (``backoff``, 2x, 4x ...); ``Retry-After`` (seconds or an HTTP
date, RFC 9110 section 10.2.3) replaces the backoff, capped at ``retry_after_cap``. A timeout
is not retried: the server may have the message already, and waiting twice is what the time
limit is there to prevent. Nothing waits past ``budget`` seconds for the whole call; a
webhook that failed is not tried again for the other alerts of the same call.
"""

from __future__ import annotations

import email.utils
import errno as errno_names
import logging
import os
import socket
import ssl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from leasewatch import __version__, lazy, tls
from leasewatch.alerts.formats import payload
from leasewatch.alerts.levels import Alert, Plan
from leasewatch.config import WebhookConfig
from leasewatch.errors import AlertError

if TYPE_CHECKING:
    import requests
else:
    requests = lazy.module("requests")  # loaded on the first HTTP call (issue 17)

log = logging.getLogger(__name__)

DEFAULT_BUDGET = 30.0  # seconds for one `deliver` call, all webhooks and retries included
DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 1.0  # seconds before the second try; doubles after each
DEFAULT_RETRY_AFTER_CAP = 30.0  # never wait longer than this for a Retry-After
BODY_QUOTED = 200  # characters of an error response quoted in the message

# urllib3 loggers whose records can carry a URL (see urllib3/connectionpool.py,
# util/retry.py, poolmanager.py): the redacting filter is attached to each while we post.
_URLLIB3_LOGGERS = (
    "urllib3.connection",
    "urllib3.connectionpool",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one alert on one webhook: ``ok``, or an ``error`` without the URL."""

    webhook: str
    format: str
    alert: Alert
    ok: bool
    attempts: int
    status: int | None = None
    error: AlertError | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """How hard to try: total seconds for one call, tries per message, waits between them."""

    budget: float = DEFAULT_BUDGET
    attempts: int = DEFAULT_ATTEMPTS
    backoff: float = DEFAULT_BACKOFF
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP


def deliver(
    alerts: Sequence[Alert], webhooks: Sequence[WebhookConfig], policy: Policy = Policy()
) -> list[Delivery]:
    """Send every alert to every webhook; one ``Delivery`` per (alert, webhook) pair."""
    pairs = [(webhook, alert) for alert in alerts for webhook in webhooks]
    return _send(pairs, webhooks, policy)


def deliver_plan(
    plan: Plan, webhooks: Sequence[WebhookConfig], policy: Policy = Policy()
) -> list[Delivery]:
    """Send each webhook the alerts ``levels.plan`` chose for it."""
    pairs = [
        (webhook, alert) for webhook in webhooks for alert in plan.alerts.get(webhook.name, ())
    ]
    return _send(pairs, webhooks, policy)


def failures(deliveries: Sequence[Delivery]) -> list[AlertError]:
    """The errors of the deliveries that failed, one per webhook (for a CLI summary)."""
    seen: dict[str, AlertError] = {}
    for delivery in deliveries:
        if delivery.error is not None and delivery.webhook not in seen:
            seen[delivery.webhook] = delivery.error
    return list(seen.values())


# --- the loop ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Attempts:
    ok: bool
    attempts: int
    status: int | None
    reason: str


def _send(
    pairs: Sequence[tuple[WebhookConfig, Alert]],
    webhooks: Sequence[WebhookConfig],
    policy: Policy,
) -> list[Delivery]:
    deadline = time.monotonic() + policy.budget
    failed: dict[str, str] = {}
    out: list[Delivery] = []
    if not pairs:
        return out
    with _redacting([w.url.reveal() for w in webhooks]), requests.Session() as session:
        session.headers["User-Agent"] = f"leasewatch/{__version__}"
        for webhook, alert in pairs:
            if webhook.name in failed:
                result = _Attempts(False, 0, None, "skipped: it failed earlier in this run")
            else:
                body = payload(webhook.format, alert)
                result = _post(session, webhook, body, deadline, policy)
            if result.ok:
                log.debug("webhook %r (%s): delivered %s", webhook.name, webhook.format, alert.kind)
                out.append(
                    Delivery(
                        webhook.name, webhook.format, alert, True, result.attempts, result.status
                    )
                )
                continue
            if webhook.name not in failed:
                failed[webhook.name] = result.reason
                # debug only: every caller reports the failure once (the daemon's log and
                # metrics, `scan`'s output, `alert-test`'s line); a warning here doubled it
                log.debug("webhook %r (%s): %s", webhook.name, webhook.format, result.reason)
            error = AlertError(f"webhook {webhook.name!r} ({webhook.format}): {result.reason}")
            out.append(
                Delivery(
                    webhook.name,
                    webhook.format,
                    alert,
                    False,
                    result.attempts,
                    result.status,
                    error,
                )
            )
    return out


def _post(
    session: requests.Session,
    webhook: WebhookConfig,
    body: dict[str, object],
    deadline: float,
    policy: Policy,
) -> _Attempts:
    url = webhook.url.reveal()
    try:
        # with each request: REQUESTS_CA_BUNDLE would replace a session's (leasewatch.tls)
        verify = tls.requests_verify(webhook.tls_ca)
    except tls.CaFileError as exc:
        return _Attempts(False, 0, None, str(exc))
    status: int | None = None
    reason = "not tried: no time left in this run"
    attempts = policy.attempts
    for attempt in range(1, attempts + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _Attempts(False, attempt - 1, status, f"{reason}; out of time")
        timeout = min(webhook.timeout, remaining)
        wait: float | None = None
        retryable = False
        try:
            response = session.post(
                url, json=body, timeout=timeout, allow_redirects=False, verify=verify
            )
        except requests.Timeout:
            # ConnectTimeout is also a ConnectionError: test Timeout first, never retry it
            return _Attempts(False, attempt, None, f"no answer within {timeout:g}s")
        except requests.RequestException as exc:
            reason = _describe(exc, webhook)
            retryable = isinstance(exc, requests.ConnectionError) and not isinstance(
                exc, requests.exceptions.SSLError
            )
            status = None
        else:
            with response:
                status = response.status_code
                if 200 <= status < 300:
                    return _Attempts(True, attempt, status, "")
                reason = f"HTTP {status}{_quote(response, url)}"
                retryable = status == 429 or status >= 500
                if retryable:
                    wait = _retry_after(response.headers.get("Retry-After"))
        if not retryable:
            return _Attempts(False, attempt, status, reason)
        if attempt == attempts:
            return _Attempts(False, attempt, status, f"{reason} after {attempt} attempts")
        delay = (
            policy.backoff * 2 ** (attempt - 1)
            if wait is None
            else min(wait, policy.retry_after_cap)
        )
        if time.monotonic() + delay >= deadline:
            return _Attempts(
                False,
                attempt,
                status,
                f"{reason}; gave up: a retry in {delay:g}s is past the time limit",
            )
        time.sleep(delay)
    return _Attempts(False, attempts, status, reason)  # pragma: no cover - attempts < 1


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _quote(response: requests.Response, url: str) -> str:
    """A short, single-line, redacted quote of an error response's body ('' if empty)."""
    try:
        text = response.text
    except (requests.RequestException, UnicodeError):
        return ""
    text = " ".join(_redact(text[: BODY_QUOTED * 4], [url]).split())
    if not text:
        return ""
    return f": {text[:BODY_QUOTED]}"


def _describe(exc: requests.RequestException, webhook: WebhookConfig) -> str:
    """Why a request failed, from the exception's type and errno, or ssl's own words for
    a TLS failure (never the exception's text: it holds the URL)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return tls.reason(exc, webhook.tls_ca) or "TLS error (certificate or protocol)"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "invalid URL (check the webhook's url setting)"
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return "unsupported URL scheme (expected https:// or http://)"
    if isinstance(exc, requests.ConnectionError):
        cause = _os_error(exc)
        if isinstance(cause, socket.gaierror):
            return "cannot resolve the webhook's host name"
        if cause is not None and cause.errno is not None:
            name = errno_names.errorcode.get(cause.errno, str(cause.errno))
            return f"cannot connect: {os.strerror(cause.errno).lower()} ({name})"
        return "cannot connect"
    return f"request failed ({type(exc).__name__})"


def _os_error(exc: BaseException) -> OSError | None:
    """The socket error at the root of a requests/urllib3 exception chain, if any."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if (
            isinstance(current, OSError)
            and not isinstance(current, requests.RequestException | ssl.SSLError)
            and current.errno is not None
        ):
            return current
        reason = getattr(current, "reason", None)
        nested = [a for a in current.args if isinstance(a, BaseException)]
        for item in (reason, current.__cause__, current.__context__, *nested):
            if isinstance(item, BaseException):
                stack.append(item)
    return None


def _secrets_of(url: str) -> list[str]:
    """The URL and its path-and-query: either alone is enough to post to the channel."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return [s for s in (url, path if len(path) > 1 else "") if s]


def _redact(text: str, urls: Sequence[str]) -> str:
    for url in urls:
        for secret in sorted(_secrets_of(url), key=len, reverse=True):
            text = text.replace(secret, "<redacted>")
    return text


class _RedactingFilter(logging.Filter):
    """Rewrite log records that mention a webhook URL or its path."""

    def __init__(self, urls: Sequence[str]) -> None:
        super().__init__()
        self.urls = list(urls)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _redact(message, self.urls)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


@contextmanager
def _redacting(urls: Sequence[str]) -> Iterator[None]:
    flt = _RedactingFilter(urls)
    loggers = [logging.getLogger(name) for name in _URLLIB3_LOGGERS]
    for logger in loggers:
        logger.addFilter(flt)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(flt)
