"""dhcpd6.conf read as ``dhcpd -6`` reads it: ``dhcpd -6 -t`` the authority, dhcpd-pools a second.

The corpus (tests/leases/dhcpd6_corpus) is written from dhcpd.conf(5)'s DHCPv6 statements and
server/confpars.c (``parse_address_range6``, ``parse_prefix6``, ``parse_pool6_statement``):
``ok6-*`` files hold what they describe, ``bad6-*`` files one mistake each. Besides the corpus:
the sample dhcpd6.conf Debian ships (as shipped and with every example enabled) and the lab's
generated dhcpd6.conf.

For each file: leasewatch accepts it exactly when ``dhcpd -6 -t`` does; when both reject, they
name the same file and line (or the line of the token before); when both accept, leasewatch's
address ranges are dhcpd-pools' (``--ip-version=6``), and the file reads as DHCPv6.
"""

from __future__ import annotations

import re
import shutil
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from lab.isc import Layout6, dhcpd6_conf, dhcpd_check, dhcpd_pools
from leasewatch.errors import LeasesError
from leasewatch.leases import dhcpd6_conf as ours6
from leasewatch.leases.dhcpd_conf import tokenize
from leasewatch.model import PoolKind

CORPUS = Path(__file__).resolve().parent / "dhcpd6_corpus"
DEBIAN_SAMPLE = Path("/etc/dhcp/dhcpd6.conf")

# Where dhcpd-pools disagrees with dhcpd and leasewatch (checked to disagree still).
_TEMPORARY = (
    "dhcpd-pools reads 'range6 ... temporary' as a range of one address or of garbage "
    "(it takes the word 'temporary' for the end address)"
)
KNOWN_POOLS = {"ok6-range-forms.conf": _TEMPORARY, "lab-dhcpd6.conf": _TEMPORARY}
_OUR_LINE = re.compile(r"(\S+?):(\d+): ")


def _enabled(sample: str) -> str:
    """The Debian sample with its commented-out examples enabled."""
    return re.sub(r"^#(?=\S|  )", "", sample, flags=re.MULTILINE)


def _real_world(tmp_path: Path) -> list[Path]:
    copy = tmp_path / "debian-dhcpd6.conf"
    shutil.copy(DEBIAN_SAMPLE, copy)
    enabled = tmp_path / "debian-enabled-dhcpd6.conf"
    enabled.write_text(_enabled(DEBIAN_SAMPLE.read_text()))
    lab = tmp_path / "lab-dhcpd6.conf"
    lab.write_text(dhcpd6_conf(Layout6()))
    return [copy, enabled, lab]


def _ours(conf: Path) -> tuple[ours6.Dhcpd6Conf | None, tuple[str, int] | None]:
    try:
        return ours6.parse(conf), None
    except LeasesError as exc:
        places = _OUR_LINE.findall(str(exc))
        return None, (Path(places[-1][0]).name, int(places[-1][1])) if places else None


def _lines_before(conf: Path, line: int) -> set[int]:
    """``line`` and the line of the token before its first token: where dhcpd may say."""
    tokens = tokenize(conf.read_text(), conf.name)
    return {line, max((t.line for t in tokens if t.line < line), default=0)}


def _pools(conf: Path, tmp_path: Path) -> list[tuple[IPv6Address, IPv6Address]]:
    empty = tmp_path / "empty6.leases"
    empty.touch()
    ranges = (s["range"].split(" - ") for s in dhcpd_pools(conf, empty))
    return sorted((IPv6Address(low), IPv6Address(high)) for low, high in ranges)


def _corpus() -> list[str]:
    return sorted(p.name for p in CORPUS.glob("*.conf"))


def test_the_corpus_covers_both_sides() -> None:
    """Accepted and rejected DHCPv6 files, every range6 and prefix6 form among them."""
    names = _corpus()
    assert sum(n.startswith("ok6-") for n in names) >= 6
    assert sum(n.startswith("bad6-") for n in names) >= 15


@pytest.mark.parametrize("name", _corpus())
def test_corpus_file_as_dhcpd6_reads_it(name: str, tmp_path: Path) -> None:
    """leasewatch accepts what ``dhcpd -6 -t`` accepts, rejects what it rejects, at its line."""
    _check(CORPUS / name, tmp_path)


def test_real_world_files_as_dhcpd6_reads_them(tmp_path: Path) -> None:
    """Debian's sample dhcpd6.conf (as shipped, and enabled) and the lab's: as dhcpd -6 reads."""
    verdicts = {conf.name: _check(conf, tmp_path) for conf in _real_world(tmp_path)}
    # the enabled sample turns prose into statements: both reject it, at the same line
    assert verdicts == {
        "debian-dhcpd6.conf": True,
        "debian-enabled-dhcpd6.conf": False,
        "lab-dhcpd6.conf": True,
    }


def test_prefix_pools_count_exactly() -> None:
    """A prefix6 pool counts its prefixes of the delegated length (a /48 of /56: 256)."""
    conf = ours6.parse(CORPUS / "ok6-prefix6.conf")
    prefixes = [r for r in conf.ranges if r.kind is PoolKind.PREFIX]
    assert [(p.delegated_len, p.size, p.label) for p in prefixes] == [
        (56, 256, "2001:db8:100::/48 /56"),
        (60, 16, "2001:db8:200::/56 /60"),
    ]
    forms = ours6.parse(CORPUS / "ok6-range-forms.conf")
    assert [r.size for r in forms.ranges if r.kind is PoolKind.TEMPORARY] == [256, 2**64]


def _check(conf: Path, tmp_path: Path) -> bool:
    accepted, where = dhcpd_check(conf, tmp_path / "dhcpd6.leases", "-6")
    ours, our_where = _ours(conf)
    assert (ours is not None) == accepted, f"dhcpd -6 -t {'accepts' if accepted else 'rejects'}"
    if ours is None:
        assert our_where is not None
        if where is not None:  # dhcpd names no line for some errors ("Addr/mask length")
            assert our_where[0] == where[0]
            assert where[1] in _lines_before(conf, our_where[1]), (where, our_where)
        return False
    pools = _pools(conf, tmp_path)
    ranges = sorted((r.first, r.last) for r in ours.ranges if r.kind is PoolKind.ADDRESS)
    if conf.name in KNOWN_POOLS:
        assert ranges != pools, f"{conf.name} agrees with dhcpd-pools now: drop it from KNOWN"
        assert set(ranges) <= set(pools)
    else:
        assert ranges == pools
    assert ours.family == 6 or not ranges
    return True
