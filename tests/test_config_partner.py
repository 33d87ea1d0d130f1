"""Tests for ``partner``: a pair declared in ``[[servers]]``, checked against the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from leasewatch.config import load
from leasewatch.errors import ConfigError


def server(name: str, kind: str = "isc", partner: str | None = None) -> str:
    """One ``[[servers]]`` table (an ISC server, or a Kea memfile)."""
    where = (
        'leases = "/l"\ndhcpd_conf = "/c"\n' if kind == "isc" else 'leases = "/kea-leases4.csv"\n'
    )
    line = f'partner = "{partner}"\n' if partner is not None else ""
    return f'[[servers]]\nname = "{name}"\nkind = "{kind}"\n{where}{line}'


def messages(tmp_path: Path, text: str) -> list[str]:
    """The loader's error lines for ``text`` (it must fail)."""
    path = tmp_path / "leasewatch.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path, {})
    return info.value.messages


def test_a_partner_declared_once_is_made_symmetric(tmp_path: Path) -> None:
    """``partner`` on one member names the other; the other gets it back."""
    path = tmp_path / "leasewatch.toml"
    path.write_text(server("dhcp1", partner="dhcp2") + server("dhcp2") + server("dhcp3"))
    config = load(path, {})
    assert [s.partner for s in config.servers] == ["dhcp2", "dhcp1", None]
    assert config.partners == {"dhcp1": "dhcp2", "dhcp2": "dhcp1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (server("dhcp1", partner="dhcp1"), "names this server itself ('dhcp1')"),
        (server("dhcp1", partner="nope"), "expected the name of a [[servers]] entry (dhcp1), "
         "got 'nope'"),
        (server("dhcp1", partner="kea") + server("kea", "kea"),
         "'kea' is a kea server, this one isc: partners are of one kind"),
        (server("a", partner="b") + server("b", partner="c") + server("c"),
         "'b' already has partner 'c'"),
    ],
)  # fmt: skip
def test_a_bad_partner_is_one_line_naming_it(tmp_path: Path, text: str, expected: str) -> None:
    """Itself, an unknown name, another kind, or a server already paired: one line each."""
    (line,) = [m for m in messages(tmp_path, text) if "partner" in m]
    assert expected in line
