"""Delivery over real HTTP on loopback: retries, Retry-After, failures, timeouts, secrecy."""

from __future__ import annotations

import logging
import time

import pytest

from leasewatch.alerts import deliver_plan, plan, settle
from leasewatch.alerts.deliver import Delivery, Policy, deliver, failures
from leasewatch.alerts.levels import AlertKind
from leasewatch.alerts.render import sample_alert
from leasewatch.errors import AlertError
from tests.alerts.alert_helpers import SECRET_PATH, T0, alerts_config, analysis, at, usage, webhook
from tests.alerts.webhook_sink import Sink

FAST = Policy(budget=10.0, attempts=3, backoff=0.05, retry_after_cap=5.0)
SECRET = SECRET_PATH.rsplit("/", 1)[1]


def assert_no_secret(text: str) -> None:
    """Neither the secret path nor its last part appears in ``text``."""
    assert SECRET not in text
    assert SECRET_PATH not in text


def test_retry_on_500_then_success(sink: Sink) -> None:
    """A 500 is retried after a short backoff; the second try delivers."""
    sink.script(SECRET_PATH, (500, {}, b"oops"))
    (result,) = deliver([sample_alert(T0)], [webhook("ops", "slack", sink.url(SECRET_PATH))], FAST)
    assert (result.ok, result.attempts, result.status, result.error) == (True, 2, 200, None)
    assert len(sink.posts(SECRET_PATH)) == 2
    first, second = sink.posts(SECRET_PATH)
    assert first.body == second.body


def test_429_waits_for_retry_after(sink: Sink) -> None:
    """A 429 with Retry-After: 1 waits a second (not the 50 ms backoff) and then delivers."""
    sink.script(SECRET_PATH, (429, {"Retry-After": "1"}, b"slow down"))
    start = time.monotonic()
    (result,) = deliver(
        [sample_alert(T0)], [webhook("ops", "discord", sink.url(SECRET_PATH))], FAST
    )
    assert result.ok and result.attempts == 2
    assert time.monotonic() - start >= 1.0  # it did wait (a lower bound: never flaky)


def test_retry_after_beyond_the_time_limit_gives_up_at_once(sink: Sink) -> None:
    """Retry-After: 3600 is capped, and a wait past the budget is not even started."""
    sink.script(SECRET_PATH, (429, {"Retry-After": "3600"}, b""))
    policy = Policy(budget=2.0, attempts=3, backoff=0.05, retry_after_cap=30.0)
    (result,) = deliver(
        [sample_alert(T0)], [webhook("ops", "slack", sink.url(SECRET_PATH))], policy
    )
    assert len(sink.posts(SECRET_PATH)) == 1
    assert not result.ok and result.attempts == 1
    assert str(result.error) == (
        "webhook 'ops' (slack): HTTP 429; gave up: a retry in 30s is past the time limit"
    )


def test_webhook_that_always_fails_is_reported_without_its_url(
    sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    """Three 500s: one error naming the webhook and format, never the URL, and no warning
    logged beside it (the caller reports the error once)."""
    caplog.set_level(logging.DEBUG)  # urllib3 logs request lines (with the path) at DEBUG
    url = sink.url(SECRET_PATH)
    body = f"no such hook {url} ({SECRET_PATH})".encode()
    sink.script(SECRET_PATH, *[(500, {}, body)] * 3)
    (result,) = deliver([sample_alert(T0)], [webhook("ops", "mattermost", url)], FAST)
    assert not result.ok and result.attempts == 3 and result.status == 500
    assert isinstance(result.error, AlertError)
    message = str(result.error)
    assert message == (
        "webhook 'ops' (mattermost): HTTP 500: no such hook <redacted> (<redacted>)"
        " after 3 attempts"
    )
    assert result.error.__context__ is None and result.error.__cause__ is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # they were captured ...
    assert_no_secret(caplog.text)  # ... and redacted
    assert_no_secret(repr(result))
    assert failures([result]) == [result.error]


def test_connection_refused_fails_fast_without_url(
    refused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody listening: 'connection refused', retried briefly, and no URL in the error."""
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{refused_port}{SECRET_PATH}"
    (result,) = deliver([sample_alert(T0)], [webhook("ops", "teams", url)], FAST)
    assert not result.ok and result.attempts == 3
    assert str(result.error) == (
        "webhook 'ops' (teams): cannot connect: connection refused (ECONNREFUSED) after 3 attempts"
    )
    assert_no_secret(caplog.text)
    assert str(refused_port) not in str(result.error)


def test_server_that_never_answers_times_out_once(
    silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that accepts and never answers costs one timeout, not three."""
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{silent_port}{SECRET_PATH}"
    start = time.monotonic()
    (result,) = deliver([sample_alert(T0)], [webhook("ops", "generic", url, timeout=0.5)], FAST)
    assert time.monotonic() - start >= 0.4  # it waited for the timeout (a lower bound)
    assert not result.ok and result.attempts == 1
    assert str(result.error) == "webhook 'ops' (generic): no answer within 0.5s"
    assert_no_secret(caplog.text)


def test_client_error_is_not_retried(sink: Sink) -> None:
    """A 404 (a deleted webhook) will not get better by asking again."""
    sink.script(SECRET_PATH, (404, {}, b"invalid_token"))
    (result,) = deliver([sample_alert(T0)], [webhook("ops", "slack", sink.url(SECRET_PATH))], FAST)
    assert (result.ok, result.attempts, result.status) == (False, 1, 404)
    assert str(result.error) == "webhook 'ops' (slack): HTTP 404: invalid_token"


def test_failing_webhook_does_not_hold_up_the_others(sink: Sink, silent_port: int) -> None:
    """A dead webhook is given up after its first alert; the good one gets every alert."""
    dead = webhook("dead", "slack", f"http://127.0.0.1:{silent_port}/x", timeout=0.3)
    good = webhook("good", "generic", sink.url("/good"))
    alerts = [sample_alert(T0), sample_alert(at(1)), sample_alert(at(2))]
    results = deliver(alerts, [dead, good], FAST)
    # one timeout, not three: the dead webhook is tried once (attempts 1, then 0)
    assert [(r.webhook, r.ok, r.attempts) for r in results] == [
        ("dead", False, 1),
        ("good", True, 1),
        ("dead", False, 0),
        ("good", True, 1),
        ("dead", False, 0),
        ("good", True, 1),
    ]
    assert str(results[2].error) == (
        "webhook 'dead' (slack): skipped: it failed earlier in this run"
    )
    assert len(sink.posts("/good")) == 3


def test_total_time_is_bounded(silent_port: int) -> None:
    """Many silent webhooks cannot hold a scan longer than the budget."""
    hooks = [
        webhook(f"w{i}", "generic", f"http://127.0.0.1:{silent_port}/{i}", timeout=5)
        for i in range(5)
    ]
    results = deliver([sample_alert(T0)], hooks, Policy(budget=1.0))
    # bounded by the budget: after the first timeout (cut to the 1 s budget), nothing is tried
    assert not any(r.ok for r in results)
    assert {str(r.error).split(": ", 1)[1] for r in results[1:]} == {
        "not tried: no time left in this run; out of time"
    }


def test_scans_alert_once_per_webhook_and_recover_once(sink: Sink) -> None:
    """Two scans of a critical pool: one message per webhook; freeing addresses: one recovery."""
    hooks = (webhook("a", "slack", sink.url("/a")), webhook("b", "discord", sink.url("/b")))
    config = alerts_config(*hooks)
    memory: dict[str, dict[str, object]] = {}
    sent: list[Delivery] = []
    for minute, active in [(0, 20), (5, 20), (10, 8), (15, 8)]:
        now = at(minute)
        step = plan(analysis(usage(active), now=now), memory, config, now)  # type: ignore[arg-type]
        results = deliver_plan(step, hooks, FAST)
        sent.extend(results)
        memory = settle(step, results, now)  # type: ignore[assignment]
    assert [(r.webhook, r.alert.kind, r.ok) for r in sent] == [
        ("a", AlertKind.LEVEL, True),
        ("b", AlertKind.LEVEL, True),
        ("a", AlertKind.RECOVERED, True),
        ("b", AlertKind.RECOVERED, True),
    ]
    assert len(sink.posts("/a")) == 2 and len(sink.posts("/b")) == 2
    assert sink.posts("/a")[1].json["text"] == (
        "dhcp1/lab recovered: 38.1% used (8 of 21 active, 13 free), was critical"
    )


def test_failed_level_change_is_delivered_at_the_next_scan(sink: Sink) -> None:
    """A 503 on every try: the next scan sends the change again, and then it is remembered."""
    hook = webhook("a", "generic", sink.url("/a"))
    config = alerts_config(hook)
    sink.script("/a", *[(503, {}, b"")] * 3)
    step = plan(analysis(usage(20)), {}, config, T0)
    memory = settle(step, deliver_plan(step, [hook], FAST), T0)
    assert memory["a"]["dhcp1/lab"].notified_level is None
    step = plan(analysis(usage(20), now=at(5)), memory, config, at(5))
    results = deliver_plan(step, [hook], FAST)
    assert [(r.alert.kind, r.ok) for r in results] == [(AlertKind.LEVEL, True)]
    memory = settle(step, results, at(5))
    step = plan(analysis(usage(20), now=at(10)), memory, config, at(10))
    assert step.alerts == {"a": ()}
    assert len(sink.posts("/a")) == 4


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    """Retry-After is delta-seconds or an HTTP date (RFC 9110 10.2.3); junk is ignored."""
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from leasewatch.alerts.deliver import _retry_after

    assert _retry_after("2") == 2.0
    assert _retry_after(" 0.5 ") == 0.5
    assert _retry_after("-3") == 0.0
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    waited = _retry_after(later)
    assert waited is not None and 25 <= waited <= 30
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_nothing_to_send_touches_no_network() -> None:
    """No alerts (the usual scan): no session, no request, no result."""
    hook = webhook("ops", "slack", "http://127.0.0.1:9/never")
    assert deliver([], [hook]) == []
