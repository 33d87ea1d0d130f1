"""control_url over HTTPS against a real kea-ctrl-agent 2.2, with a CA made for the test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lab.kea import KeaServer, running_agent
from lab.tls import TlsFiles, make_ca
from leasewatch.config import Secret, ServerConfig
from leasewatch.errors import LeasesError
from leasewatch.leases.kea import KeaLeaseSource

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA, server and client certificates (openssl), shared by this module."""
    return make_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def agent_url(kea: KeaServer, tls: TlsFiles) -> Iterator[str]:
    """kea-ctrl-agent on https://127.0.0.1:<port>/ that wants a client certificate and a user."""
    kea.add_lease("198.18.1.10", "52:54:00:00:01:0a", hostname="vm-tls")
    with running_agent(kea, username="leasewatch", password="tls-pw", tls=tls) as agent:
        yield agent.url


def https_config(url: str, tls: TlsFiles) -> ServerConfig:
    """Every TLS key given: the lab CA, the client certificate and key, basic auth."""
    return ServerConfig(
        name="kea-tls",
        kind="kea",
        control_url=url,
        username="leasewatch",
        password=Secret("tls-pw"),
        tls_ca=tls.ca,
        tls_cert=tls.client_cert,
        tls_key=tls.client_key,
        timeout=5.0,
    )


def test_https_with_the_lab_ca_and_a_client_certificate_reads_the_leases(
    agent_url: str, tls: TlsFiles, kea: KeaServer
) -> None:
    """Verified TLS plus basic auth give the snapshot the UNIX socket gives."""
    over_https = KeaLeaseSource(https_config(agent_url, tls)).read()
    over_socket = KeaLeaseSource(
        ServerConfig(name="kea-tls", kind="kea", control_socket=kea.socket_path)
    ).read()
    assert over_https == over_socket
    assert [str(lease.ip) for lease in over_https.leases] == ["198.18.1.10"]


def test_verification_is_on_by_default(agent_url: str, tls: TlsFiles) -> None:
    """Without tls_ca the system's CAs do not know the lab CA: one line, the handshake fails."""
    config = replace(https_config(agent_url, tls), tls_ca=None)
    with pytest.raises(LeasesError) as caught:
        KeaLeaseSource(config).read()
    message = str(caught.value)
    assert message.startswith(
        f"kea server 'kea-tls': config-get: TLS with control URL {agent_url} failed: "
        "certificate verify failed: "
    )
    assert "\n" not in message and "tls-pw" not in message


def test_a_ca_that_did_not_sign_the_server_is_refused(agent_url: str, tls: TlsFiles) -> None:
    """tls_ca naming another CA: the server's certificate is not trusted."""
    config = replace(https_config(agent_url, tls), tls_ca=tls.other_ca)
    with pytest.raises(LeasesError, match=r"failed: certificate verify failed: "):
        KeaLeaseSource(config).read()


def test_no_client_certificate_where_the_agent_requires_one(agent_url: str, tls: TlsFiles) -> None:
    """cert-required on the agent and no tls_cert: the connection fails, on one line."""
    config = replace(https_config(agent_url, tls), tls_cert=None, tls_key=None)
    with pytest.raises(LeasesError) as caught:
        KeaLeaseSource(config).read()
    message = str(caught.value)
    assert message.startswith("kea server 'kea-tls': config-get: ")
    assert agent_url in message and "\n" not in message


def test_a_missing_ca_file_is_named(agent_url: str, tls: TlsFiles, tmp_path: Path) -> None:
    """tls_ca pointing nowhere: the error names the TLS files, not a traceback."""
    config = replace(https_config(agent_url, tls), tls_ca=tmp_path / "no-ca.pem")
    with pytest.raises(LeasesError) as caught:
        KeaLeaseSource(config).read()
    assert "TLS files" in str(caught.value)
    assert "no-ca.pem" in str(caught.value)
