"""dhcpd.conf parsing: ranges, networks, fixed hosts, includes, and one-line syntax errors."""

from __future__ import annotations

import os
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from leasewatch.errors import LeasesError
from leasewatch.leases import dhcpd_conf, dhcpd_syntax
from leasewatch.model import FixedHost

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "isc"


def test_fixture_ranges_networks_and_subnets() -> None:
    """Every range of the fixture, with its subnet and network, in file order."""
    conf = dhcpd_conf.parse(FIXTURES / "dhcpd.conf")
    got = [(str(r.first), str(r.last), str(r.subnet), r.network) for r in conf.ranges]
    assert got == [
        ("198.18.0.10", "198.18.0.19", "198.18.0.0/24", "campus"),
        ("198.18.1.100", "198.18.1.109", "198.18.1.0/24", "campus"),
        ("198.18.2.10", "198.18.2.14", "198.18.2.0/24", "lab"),
        ("198.18.3.50", "198.18.3.52", "198.18.3.0/24", "lab"),
        ("198.18.20.10", "198.18.20.10", "198.18.20.0/26", "198.18.20.0/26"),
        ("198.18.20.20", "198.18.20.29", "198.18.20.0/26", "198.18.20.0/26"),
        ("198.18.30.5", "198.18.30.9", "198.18.30.0/24", "198.18.30.0/24"),
    ]
    assert [r.size for r in conf.ranges] == [10, 10, 5, 3, 1, 10, 5]


def test_fixture_fixed_hosts_and_include() -> None:
    """Hosts from groups and from the included file; a host-name fixed-address keeps ip None."""
    conf = dhcpd_conf.parse(FIXTURES / "dhcpd.conf")
    assert conf.fixed == (
        FixedHost("printer1", "00:11:22:33:44:55", IPv4Address("198.18.20.50")),
        FixedHost("nas", "00:11:22:33:44:66", None),
        FixedHost("build01", "aa:bb:cc:00:00:01", IPv4Address("198.18.20.51")),
        FixedHost("build01", "aa:bb:cc:00:00:01", IPv4Address("198.18.20.52")),
    )
    assert conf.files == (FIXTURES / "dhcpd.conf", FIXTURES / "conf.d" / "hosts.conf")


def test_leading_zero_octets_are_decimal() -> None:
    """198.018.000.010 is 198.18.0.10, as dhcpd reads it (not octal, not an error)."""
    assert dhcpd_syntax.parse_ipv4("198.018.000.010") == IPv4Address("198.18.0.10")
    assert dhcpd_syntax.parse_ipv4("198.019.001.009") == IPv4Address("198.19.1.9")
    assert dhcpd_syntax.parse_ipv4("1.2.3.256") is None
    assert dhcpd_syntax.parse_ipv4("1.2.3") is None


def test_include_is_relative_to_including_file(tmp_path: Path) -> None:
    """A relative include resolves against the including file's directory, not the cwd."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nets.conf").write_text(
        "subnet 198.18.5.0 netmask 255.255.255.0 { range 198.18.5.1 198.18.5.2; }\n"
    )
    (tmp_path / "dhcpd.conf").write_text('shared-network inc {\n  include "sub/nets.conf";\n}\n')
    conf = dhcpd_conf.parse(tmp_path / "dhcpd.conf")
    assert [(r.network, r.subnet) for r in conf.ranges] == [("inc", IPv4Network("198.18.5.0/24"))]


def test_range_reversed_is_swapped(tmp_path: Path) -> None:
    """A range written high-to-low covers the same addresses, as dhcpd treats it."""
    path = tmp_path / "dhcpd.conf"
    path.write_text("subnet 198.18.6.0 netmask 255.255.255.0 { range 198.18.6.9 198.18.6.1; }")
    (r,) = dhcpd_conf.parse(path).ranges
    assert (str(r.first), str(r.last)) == ("198.18.6.1", "198.18.6.9")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "subnet 198.18.0.0 netmask 255.255.255.0 {\n  range 198.18.0.1 198.18.0.9\n}\n",
            "dhcpd.conf:3: expected ';', got '}'",
        ),
        (
            "subnet 198.18.0.0 netmask 255.255.255.0 {\n  range 198.18.0.1 198.18.0.9;\n",
            "dhcpd.conf:3: expected '}', got end of file",
        ),
        ("authoritative;\n}\n", "dhcpd.conf:2: expected a statement, got '}'"),
        (
            "subnet 198.18.0.0 netmask 255.255.255.0 {\n  range 198.18.0.300 198.18.0.9;\n}\n",
            "dhcpd.conf:2: expected an IPv4 address, got '198.18.0.300'",
        ),
        (
            "subnet 198.18.0.0 netmask 255.255.255.0 {\n  range 198.18.0.1 198.18.0.9 x;\n}\n",
            "dhcpd.conf:2: expected 'range [dynamic-bootp] LOW [HIGH];', got 'x'",
        ),
        (
            "subnet 198.18.0.1 netmask 255.255.255.0 { }\n",
            "dhcpd.conf:1: expected a subnet number that fits its netmask, "
            "got 198.18.0.1 netmask 255.255.255.0",
        ),
        (
            "subnet 198.18.0.0 {\n}\n",
            "dhcpd.conf:1: expected 'subnet ADDRESS netmask MASK {', got '{'",
        ),
        (
            "subnet 198.18.0.0 netmask 255.255.255.0 {\n  range 198.18.1.1 198.18.1.9;\n}\n",
            "dhcpd.conf:2: expected a range inside its subnet, got 198.18.1.1-198.18.1.9 "
            "outside 198.18.0.0/24",
        ),
        (
            "shared-network x {\n  pool { range 198.18.9.1 198.18.9.2; }\n}\n",
            "dhcpd.conf:2: expected a range inside its subnet, got 198.18.9.1-198.18.9.2 "
            "in no subnet declared before",
        ),
        ('option domain-name "unterminated;\n', "dhcpd.conf:1: expected a closing '\"'"),
        ("include nofile;\n", "dhcpd.conf:1: expected a quoted file name, got 'nofile'"),
        (
            "host a {\n  hardware ethernet zz:zz;\n}\n",
            "dhcpd.conf:2: expected a hardware address (hex octets with ':' between), got 'zz:zz'",
        ),
        ("shared-network {\n}\n", "dhcpd.conf:1: expected a shared-network name, got '{'"),
    ],
)
def test_syntax_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    """Each kind of bad dhcpd.conf gives one line: FILE:LINE: expected X, got Y."""
    path = tmp_path / "dhcpd.conf"
    path.write_text(text)
    with pytest.raises(LeasesError) as info:
        dhcpd_conf.parse(path)
    assert str(info.value).startswith(f"{tmp_path}/{message}")
    assert "\n" not in str(info.value)


def test_missing_include_names_the_including_line(tmp_path: Path) -> None:
    """An include that cannot be read names the including file and line, then the target."""
    path = tmp_path / "dhcpd.conf"
    path.write_text('authoritative;\ninclude "missing.conf";\n')
    with pytest.raises(LeasesError) as info:
        dhcpd_conf.parse(path)
    assert str(info.value) == (
        f"{path}:2: include: {tmp_path}/missing.conf: cannot read: No such file or directory"
    )


def test_include_loop_is_an_error(tmp_path: Path) -> None:
    """A file that includes itself (directly or not) is refused instead of recursing forever."""
    (tmp_path / "a.conf").write_text('include "b.conf";\n')
    (tmp_path / "b.conf").write_text('\ninclude "a.conf";\n')
    with pytest.raises(LeasesError, match=r"b\.conf:2: include loop through .*a\.conf"):
        dhcpd_conf.parse(tmp_path / "a.conf")


def test_unreadable_conf(tmp_path: Path) -> None:
    """A missing dhcpd.conf is one line naming it."""
    with pytest.raises(LeasesError, match=r"nope\.conf: cannot read: No such file"):
        dhcpd_conf.parse(tmp_path / "nope.conf")


def test_conf_strings_decode_like_the_journal(tmp_path: Path) -> None:
    """A quoted shared-network name with octal escapes is UTF-8 text, as in dhcpd.leases
    (it was mojibake); a byte that is not UTF-8 shows as an escape."""
    conf = tmp_path / "dhcpd.conf"
    conf.write_bytes(
        b'shared-network "caf\\303\\251" {\n'
        b"  subnet 198.18.0.0 netmask 255.255.255.0 { range 198.18.0.10 198.18.0.20; }\n}\n"
        b'shared-network "\\xff\\x41" {\n'
        b"  subnet 198.18.1.0 netmask 255.255.255.0 { range 198.18.1.10 198.18.1.20; }\n}\n"
    )
    assert [r.network for r in dhcpd_conf.parse(conf).ranges] == ["café", "\\xffA"]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"plain", "plain"),
        (b"caf\\303\\251", "café"),
        (b"caf\xc3\xa9", "café"),
        (b"\\377x", "\\xffx"),
        (b'say \\"hi\\" \\\\ \\t', 'say "hi" \\ \t'),
        (b"\\x41\\x4a", "AJ"),
        (b"\\q\\4", "q4"),
    ],
)
def test_one_decoder_for_dhcpd_strings(body: bytes, text: str) -> None:
    """dhcpd's escapes (octal and hex bytes, \\t \\r \\n \\b, any other char as itself)."""
    assert dhcpd_syntax.decode_string(body) == text


def _including(tmp_path: Path, target: str) -> Path:
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(f'include "{target}";\n')
    return conf


def test_include_symlink_loop_is_one_line(tmp_path: Path) -> None:
    """A symlink loop behind an include: one error line naming the include, no traceback."""
    (tmp_path / "a.conf").symlink_to(tmp_path / "b.conf")
    (tmp_path / "b.conf").symlink_to(tmp_path / "a.conf")
    with pytest.raises(LeasesError) as info:
        dhcpd_conf.parse(_including(tmp_path, "a.conf"))
    assert str(info.value) == (
        f"{tmp_path / 'dhcpd.conf'}:1: include: {tmp_path / 'a.conf'}: cannot read: "
        "Too many levels of symbolic links"
    )


@pytest.mark.parametrize(
    ("make", "got"),
    [
        (os.mkfifo, "a named pipe (FIFO)"),
        (lambda p: p.symlink_to("/dev/zero"), "a character device"),
        (lambda p: p.mkdir(), "a directory"),
    ],
)
def test_include_of_what_is_not_a_file_is_one_line(
    tmp_path: Path, make: Callable[[Path], None], got: str
) -> None:
    """A FIFO (never blocks), a device (never read forever), a directory: one error line."""
    make(tmp_path / "odd")
    with pytest.raises(LeasesError) as info:
        dhcpd_conf.parse(_including(tmp_path, "odd"))
    assert str(info.value) == (
        f"{tmp_path / 'dhcpd.conf'}:1: include: {tmp_path / 'odd'}: expected a regular file, "
        f"got {got}"
    )


def test_include_of_a_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    """A file over the size limit (sparse here: nothing is read) is one error line."""
    with (tmp_path / "huge.conf").open("wb") as f:
        f.truncate(1 << 40)
    with pytest.raises(LeasesError) as info:
        dhcpd_conf.parse(_including(tmp_path, "huge.conf"))
    assert str(info.value).endswith("huge.conf: expected at most 64 MiB, got a larger file")


def test_includes_nested_too_deep_are_one_line(tmp_path: Path) -> None:
    """A chain of distinct includes deeper than 32 stops with one line, not a recursion error."""
    for n in range(40):
        (tmp_path / f"{n}.conf").write_text(f'include "{n + 1}.conf";\n')
    with pytest.raises(LeasesError) as info:
        dhcpd_conf.parse(tmp_path / "0.conf")
    assert str(info.value) == f"{tmp_path / '31.conf'}:1: expected includes at most 32 deep"
