"""Every HTTPS client but Kea's (tests/leases/test_kea_tls.py) against real TLS servers on
loopback, with ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` and ``SSL_CERT_FILE`` naming a CA
that signed nothing here: a configured ``tls_ca`` still verifies, ``verify_ssl = false``
stays off, a wrong CA is one line (leasewatch.tls)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.tls import TlsFiles, make_ca
from leasewatch.alerts.deliver import Delivery, Policy, deliver
from leasewatch.alerts.render import sample_alert
from leasewatch.config import InventoryConfig, Secret, WebhookConfig
from leasewatch.errors import InventoryError
from leasewatch.events.interface import Backoff, EventStream
from leasewatch.events.proxmox import ProxmoxStream
from leasewatch.events.xenapi import XenAPIStream
from leasewatch.inventory.proxmox import ProxmoxSource
from leasewatch.inventory.xenapi import XenAPISource
from tests.alerts.webhook_sink import running_sink
from tests.events.streams import WAIT, Heard
from tests.inventory.inventory_lab import (
    EXPECTED,
    Cert,
    FakePve,
    FakeXapi,
    pve_config,
    standard_cluster,
    standard_pool,
    xen_config,
)

KINDS = ("xenapi", "proxmox")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA and a 127.0.0.1 server certificate it signed, plus an unrelated CA."""
    return make_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def foreign_bundle(monkeypatch: pytest.MonkeyPatch, tls: TlsFiles) -> None:
    """The environment trusts only a CA that signed nothing here, for requests and ssl."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.setenv(name, str(tls.other_ca))


@pytest.fixture
def servers(tls: TlsFiles) -> Iterator[Callable[[str], InventoryConfig]]:
    """``kind -> config`` of a fake XAPI or PVE on HTTPS with the lab CA's certificate."""
    cert = Cert(tls.server_cert, tls.server_key)
    with ExitStack() as stack:

        def start(kind: str) -> InventoryConfig:
            if kind == "xenapi":
                xapi = FakeXapi(standard_pool(), cert=cert)
                stack.callback(xapi.close)
                return xen_config(xapi.url)
            pve = FakePve(cert, standard_cluster())
            stack.callback(pve.close)
            return pve_config(pve.port, verify_ssl=True)

        yield start


def _macs(config: InventoryConfig) -> frozenset[str]:
    source = XenAPISource(config) if config.kind == "xenapi" else ProxmoxSource(config)
    return source.macs()


def _stream(config: InventoryConfig, heard: Heard) -> EventStream:
    backoff = Backoff(first=0.01, most=0.05)
    if config.kind == "xenapi":
        xen = XenAPIStream(config, heard, backoff=backoff)
        xen.poll = 3600.0  # only a stop ends the long poll: it must cut a TLS socket too
        return xen
    pve = ProxmoxStream(config, heard, backoff=backoff)
    pve.every = 0.05
    return pve


def _first_state(config: InventoryConfig) -> tuple[bool, str]:
    """Run the config's event stream until it says up or down; stop it; its first word."""
    heard = Heard()
    stream = _stream(config, heard)
    try:
        stream.start()
        heard.wait_for(states=1)
    finally:
        stream.stop(timeout=WAIT)
    assert not stream.running
    return heard.states[0]


@pytest.mark.parametrize("kind", KINDS)
def test_tls_ca_verifies_whatever_the_environment_names(
    kind: str, servers: Callable[[str], InventoryConfig], tls: TlsFiles
) -> None:
    """``tls_ca`` = the lab CA: the inventory reads and its event stream connects."""
    config = replace(servers(kind), tls_ca=tls.ca)
    assert _macs(config) == EXPECTED
    assert _first_state(config) == (True, "connected")


@pytest.mark.parametrize("kind", KINDS)
def test_verify_ssl_false_stays_off_whatever_the_environment_names(
    kind: str, servers: Callable[[str], InventoryConfig]
) -> None:
    """``verify_ssl = false``: no verification, though the environment names a CA."""
    config = replace(servers(kind), verify_ssl=False)
    assert _macs(config) == EXPECTED
    assert _first_state(config) == (True, "connected")


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_ca_is_one_line_naming_it(
    kind: str, servers: Callable[[str], InventoryConfig], tls: TlsFiles
) -> None:
    """``tls_ca`` = a CA that did not sign the host's certificate: one line saying so and
    naming the file, from the inventory and from its event stream alike."""
    config = replace(servers(kind), tls_ca=tls.other_ca)
    with pytest.raises(InventoryError) as caught:
        _macs(config)
    message = str(caught.value)
    assert "127.0.0.1:" in message and "\n" not in message
    assert "certificate not trusted: " in message, message
    assert f"(is tls_ca {tls.other_ca} the CA that signed it?)" in message, message
    up, reason = _first_state(config)
    assert not up and "certificate not trusted: " in reason and str(tls.other_ca) in reason


@pytest.mark.parametrize("kind", KINDS)
def test_without_tls_ca_the_environment_decides_and_says_what_to_set(
    kind: str, servers: Callable[[str], InventoryConfig]
) -> None:
    """No ``tls_ca``: the environment's CA (a stranger here) refuses the host, and the line
    says to set tls_ca or verify_ssl = false."""
    with pytest.raises(InventoryError) as caught:
        _macs(servers(kind))
    assert "(set tls_ca to the CA that signed it, or verify_ssl = false)" in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unreadable_tls_ca_is_named_before_any_connection(
    kind: str, servers: Callable[[str], InventoryConfig], tmp_path: Path
) -> None:
    """A missing CA file and one without a certificate: one line each, naming the file."""
    config = servers(kind)
    missing, empty = tmp_path / "missing.pem", tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    for path, why in ((missing, "no such file"), (empty, "no PEM certificate in it")):
        with pytest.raises(InventoryError, match=f"tls_ca {path}: {why}$"):
            _macs(replace(config, tls_ca=path))


def _webhook(url: str, tls_ca: Path | None) -> WebhookConfig:
    return WebhookConfig(name="ops", format="generic", url=Secret(url), tls_ca=tls_ca)


def _send(webhook: WebhookConfig) -> Delivery:
    alert = sample_alert(datetime.now(UTC))
    [delivery] = deliver([alert], [webhook], Policy(budget=WAIT, attempts=1))
    return delivery


def test_a_webhook_with_tls_ca_is_delivered_and_a_wrong_one_is_one_line(tls: TlsFiles) -> None:
    """A webhook's ``tls_ca`` verifies whatever REQUESTS_CA_BUNDLE names; another CA is one
    line without the URL; without tls_ca the environment's bundle decides."""
    with running_sink((tls.server_cert, tls.server_key)) as sink:
        url = sink.url("/hooks/T000/B000/s3cr3t")
        assert _send(_webhook(url, tls.ca)).ok
        assert len(sink.posts("/hooks/T000/B000/s3cr3t")) == 1
        wrong = _send(_webhook(url, tls.other_ca))
        assert wrong.error is not None
        text = str(wrong.error)
        assert "certificate not trusted: " in text and str(tls.other_ca) in text, text
        assert "s3cr3t" not in text and "\n" not in text
        assert not _send(_webhook(url, None)).ok
        assert len(sink.posts("/hooks/T000/B000/s3cr3t")) == 1


def test_a_webhook_with_a_missing_tls_ca_is_not_tried(tmp_path: Path) -> None:
    """A ``tls_ca`` that does not exist: the delivery fails naming the file, nothing sent."""
    with running_sink() as sink:
        missing = tmp_path / "missing.pem"
        delivery = _send(_webhook(sink.url("/hook"), missing))
        assert not delivery.ok and delivery.attempts == 0
        assert str(delivery.error).endswith(f"tls_ca {missing}: no such file")
        assert sink.posts("/hook") == []
