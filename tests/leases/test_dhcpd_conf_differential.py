"""dhcpd.conf read as dhcpd reads it: ``dhcpd -t`` is the authority, dhcpd-pools a second.

The corpus (tests/leases/dhcpd_corpus) is written from dhcpd.conf(5), dhcp-options(5) and
dhcp-eval(5): ``ok-*`` files hold what the pages describe, ``bad-*`` files a mistake each
(typos in statement, parameter and option names, missing or stray semicolons, braces,
statements where dhcpd does not allow them, bad addresses, DHCPv6 where v4 is expected,
broken includes). ``ok-style-*`` files are written in the style of what other projects
generate: a PXE provisioning server (Cobbler-like: ``else if`` chains by architecture), a
bare-metal provisioner (MAAS-like: option definitions, ``on commit`` hooks, failover), a
firewall appliance (pfSense/OPNsense-like) and a lifecycle manager (Foreman-like: OMAPI
key, option spaces, included host file). Besides the corpus, real-world files: the sample
dhcpd.conf and dhcpd6.conf Debian ships (as shipped, and with every commented-out example
enabled), leasewatch's own fixture (which dhcpd rejected in three places until this test)
and the lab's generated configuration.

For each file: leasewatch accepts it exactly when ``dhcpd -t`` does; when both reject, they
name the same file and line (dhcpd reports some errors at the previous token's line, after
looking ahead: that line counts too); when both accept, leasewatch's ranges are
dhcpd-pools' ranges.
"""

from __future__ import annotations

import re
import shutil
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from lab.isc import Layout, dhcpd_check, dhcpd_pools
from lab.isc import dhcpd_conf as lab_dhcpd_conf
from leasewatch.errors import LeasesError
from leasewatch.leases import dhcpd_conf

CORPUS = Path(__file__).resolve().parent / "dhcpd_corpus"
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "isc" / "dhcpd.conf"
DEBIAN_SAMPLES = (Path("/etc/dhcp/dhcpd.conf"), Path("/etc/dhcp/dhcpd6.conf"))

# Where leasewatch and dhcpd still disagree, and why (each is checked to disagree still, so
# the list stays true). None in the corpus; known outside it: values of the option formats
# leasewatch does not check (dhcpd_values), a relative include (dhcpd opens it from its
# working directory, leasewatch from the including file's), a keyword dhcpd does not take
# as a statement written alone (``netmask;``: leasewatch reads it as dhcpd reads an unknown
# name, an expression), a quoted string spanning lines, what dhcpd checks once the file is read
# (the failover peers' settings, a split between the two peers).
KNOWN_DHCPD: dict[str, str] = {}
# Where dhcpd-pools (whose own parser reads only ranges) disagrees with leasewatch and dhcpd.
_ZEROS = (
    "dhcpd-pools does not read octets with leading zeros as dhcpd does (decimal): such a "
    "range is 0.0.0.0 to it, and in a shared-network it reads no range from there on"
)
KNOWN_POOLS = {
    "ok-uppercase-keywords.conf": "dhcpd-pools reads keywords case-sensitively: no range",
    "ok-leading-zero-octets.conf": _ZEROS,
    "dhcpd.conf": _ZEROS + " (leasewatch's fixture)",
}
_OUR_LINE = re.compile(r"(\S+?):(\d+): ")


def _enabled(sample: str) -> str:
    """A Debian sample with its commented-out examples enabled ("#subnet", "#  range")."""
    return re.sub(r"^#(?=\S|  )", "", sample, flags=re.MULTILINE)


def _real_world(tmp_path: Path) -> list[Path]:
    out: list[Path] = [FIXTURE]
    for sample in DEBIAN_SAMPLES:
        copy = tmp_path / f"debian-{sample.name}"
        shutil.copy(sample, copy)
        enabled = tmp_path / f"debian-enabled-{sample.name}"
        enabled.write_text(_enabled(sample.read_text()))
        out += [copy, enabled]
    lab = tmp_path / "lab-dhcpd.conf"
    lab.write_text(lab_dhcpd_conf(Layout.seed(), key="c2VjcmV0IGtleSBmb3IgdGVzdHM="))
    return [*out, lab]


def _ours(conf: Path) -> tuple[dhcpd_conf.DhcpdConf | None, tuple[str, int] | None]:
    try:
        return dhcpd_conf.parse(conf), None
    except LeasesError as exc:
        places = _OUR_LINE.findall(str(exc))  # an include names the innermost file last
        return None, (Path(places[-1][0]).name, int(places[-1][1])) if places else None


def _lines_before(conf: Path, name: str, line: int) -> set[int]:
    """``line`` and the line of the token before its first token: where dhcpd may say."""
    path = conf if conf.name == name else conf.parent / name
    text = path.read_text(errors="surrogateescape").replace("\0", " ")  # NUL: no tokens
    tokens = dhcpd_conf.tokenize(text, name)
    earlier = [t.line for t in tokens if t.line < line]
    return {line, max(earlier, default=0)}


def _pools(conf: Path, tmp_path: Path) -> list[tuple[IPv4Address, IPv4Address]]:
    empty = tmp_path / "empty.leases"
    empty.touch()
    pools = []
    for subnet in dhcpd_pools(conf, empty, version=4):
        low, high = (IPv4Address(x.strip()) for x in subnet["range"].split("-"))
        pools.append((low, high))
    return sorted(pools)


def _corpus() -> list[str]:
    return sorted(p.name for p in CORPUS.glob("*.conf"))


def test_the_corpus_covers_both_sides() -> None:
    """Dozens of files, accepted and rejected ones; every known disagreement is in it."""
    names = _corpus()
    assert sum(n.startswith("ok-") for n in names) >= 20
    assert sum(n.startswith("bad-") for n in names) >= 45
    assert set(KNOWN_DHCPD) | set(KNOWN_POOLS) <= {*names, FIXTURE.name}


@pytest.mark.parametrize("name", _corpus())
def test_corpus_file_as_dhcpd_reads_it(name: str, tmp_path: Path) -> None:
    """leasewatch accepts what ``dhcpd -t`` accepts, rejects what it rejects, at its line."""
    conf = CORPUS / name
    _check(conf, tmp_path)


def test_real_world_files_as_dhcpd_reads_them(tmp_path: Path) -> None:
    """Debian's samples (as shipped and with every example enabled), the fixture, the lab's
    configuration: same verdict as ``dhcpd -t``, same ranges as dhcpd-pools."""
    verdicts = {conf.name: _check(conf, tmp_path) for conf in _real_world(tmp_path)}
    # the enabled v4 sample has ranges, the enabled v6 sample is DHCPv6: both are read
    assert verdicts["debian-enabled-dhcpd.conf"] is True
    assert verdicts["debian-enabled-dhcpd6.conf"] is False


def _check(conf: Path, tmp_path: Path) -> bool:
    accepted, where = dhcpd_check(conf, tmp_path / "dhcpd.leases", "-4")
    ours, our_where = _ours(conf)
    if conf.name in KNOWN_DHCPD:
        assert (ours is not None) != accepted, f"{conf.name} agrees now: drop it from KNOWN"
        return accepted
    assert (ours is not None) == accepted, f"dhcpd -t {'accepts' if accepted else 'rejects'}"
    if ours is None:
        assert our_where is not None
        if where is not None:  # dhcpd names no line for a range outside its subnet
            assert our_where[0] == where[0]
            assert where[1] in _lines_before(conf, our_where[0], our_where[1]), (where, our_where)
        return False
    pools = _pools(conf, tmp_path)
    ranges = sorted((r.first, r.last) for r in ours.ranges)
    if conf.name in KNOWN_POOLS:
        assert ranges != pools, f"{conf.name} agrees with dhcpd-pools now: drop it from KNOWN"
    else:
        assert ranges == pools
    return True
