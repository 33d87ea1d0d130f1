"""The Kea keys of [[servers]]: control_url (control_agent its alias), service, basic auth,
TLS."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasewatch.config import Secret, load
from leasewatch.config.schema import redacted
from tests.test_config_validation import errors_of, write

KEA = '[[servers]]\nname = "kea1"\nkind = "kea"\n'


def test_control_url_with_auth_and_tls_is_read(tmp_path: Path) -> None:
    """Every key given: the URL, the user, the password from a file, the three TLS paths."""
    secret = tmp_path / "kea.pass"
    secret.write_text("pw-from-file\n")
    text = KEA + (
        'control_url = "https://kea1.example:8000/"\nusername = "leasewatch"\n'
        f'password_file = "{secret}"\ntls_ca = "/etc/leasewatch/ca.pem"\n'
        'tls_cert = "/etc/leasewatch/client.pem"\ntls_key = "/etc/leasewatch/client.key"\n'
    )
    config = load(write(tmp_path, text), {})
    server = config.servers[0]
    assert server.control_url == "https://kea1.example:8000/"
    assert server.password == Secret("pw-from-file")
    assert (server.tls_ca, server.tls_cert, server.tls_key) == (
        Path("/etc/leasewatch/ca.pem"),
        Path("/etc/leasewatch/client.pem"),
        Path("/etc/leasewatch/client.key"),
    )
    assert "pw-from-file" not in str(redacted(config))


def test_control_agent_is_an_alias_of_control_url(tmp_path: Path) -> None:
    """Configs written for the agent keep working: control_agent lands in control_url."""
    config = load(write(tmp_path, KEA + 'control_agent = "http://127.0.0.1:8000/"\n'), {})
    assert config.servers[0].control_url == "http://127.0.0.1:8000/"


def test_control_url_and_control_agent_together_is_one_clear_error(tmp_path: Path) -> None:
    """Both spellings at once: which one is meant is not guessed."""
    text = (
        KEA + 'control_url = "http://127.0.0.1:8000/"\ncontrol_agent = "http://127.0.0.1:8001/"\n'
    )
    messages = errors_of(tmp_path, text)
    assert len(messages) == 1
    assert "servers[0].control_agent: give only one of control_url, control_agent" in messages[0]


HTTP = 'control_url = "http://127.0.0.1:8000/"\n'
HTTPS = 'control_url = "https://127.0.0.1:8000/"\n'
SOCKET = 'control_socket = "/run/kea/kea4.sock"\n'


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (HTTP + 'tls_ca = "/ca.pem"\n', "tls_ca: expected only with an https://"),
        (HTTPS + 'tls_cert = "/c.pem"\n', "tls_cert: give tls_cert and tls_key together"),
        (HTTPS + 'password = "x"\n', "password: expected with a username"),
        (SOCKET + 'username = "u"\npassword = "x"\n', "username: expected only with control_url"),
        (SOCKET + 'leases = "/k.csv"\n', "give exactly one of control_socket, control_url, leases"),
        (HTTP + 'service = "dhcp5"\n', "service: expected one of dhcp4, dhcp6, got 'dhcp5'"),
        (SOCKET + 'service = "dhcp6"\n', "service: expected only with control_url"),
    ],
)
def test_kea_key_combinations_that_cannot_work(tmp_path: Path, extra: str, expected: str) -> None:
    """TLS without https, half a client certificate, auth without HTTP: one line each."""
    messages = errors_of(tmp_path, KEA + extra)
    assert len(messages) == 1 and expected in messages[0], messages


def test_service_names_the_daemon_behind_the_url(tmp_path: Path) -> None:
    """service = "dhcp6" is read; without it the service is left to detection (None)."""
    config = load(write(tmp_path, KEA + HTTP + 'service = "dhcp6"\n'), {})
    assert config.servers[0].service == "dhcp6"
    assert load(write(tmp_path, KEA + HTTP), {}).servers[0].service is None


def test_every_kea_service_has_its_config_map() -> None:
    """The config's services and the client's service -> config-get map list the same names."""
    from leasewatch.config import KEA_SERVICES
    from leasewatch.leases.kea_api import SERVICES

    assert set(SERVICES) == set(KEA_SERVICES)
