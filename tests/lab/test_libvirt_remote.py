"""libvirt's remote URI forms for KVM hosts, against a real libvirtd (test driver only):
``+ssh`` through libvirt's ssh transport and virt-ssh-helper, ``+tls`` through its TLS
transport with a lab CA. ``qemu+ssh://host/system`` and ``qemu+tls://host/system`` take the
same paths; only the driver at the far end differs (here ``test:///default``).

ssh is the one stand-in: no sshd runs here, so the URI's ``command=`` names a script that
runs the remote command libvirt composed (``virt-ssh-helper 'test:///default'``) in
libvirtd's mount namespace, as sshd would run it on the KVM host.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.libvirtd import TLS_PORT, LibvirtdLab
from lab.netns import LoopbackForwarder
from lab.tls import TlsFiles, make_ca
from leasewatch.config import InventoryConfig
from leasewatch.inventory.fleet import read_all
from leasewatch.inventory.kinds import build

pytestmark = pytest.mark.lab

MACS = {"kvm-a": "52:54:00:4c:00:01", "kvm-b": "52:54:00:4c:00:02"}
DEFAULT_DOMAIN_MAC = "aa:bb:cc:dd:ee:ff"  # the test driver's own domain "test"


@pytest.fixture
def virt() -> Iterator[tuple[LibvirtdLab, TlsFiles]]:
    """libvirtd with the test driver, listening for TLS with a throwaway CA, two domains."""
    pki = Path(tempfile.mkdtemp(prefix="lw-pki-"))
    lab: LibvirtdLab | None = None
    try:
        tls = make_ca(pki)
        lab = LibvirtdLab.start(tls=tls)
        for name, mac in MACS.items():
            lab.define(name, mac)
        yield lab, tls
    finally:
        if lab is not None:
            lab.close()
        shutil.rmtree(pki, ignore_errors=True)


def _ssh(lab: LibvirtdLab) -> Path:
    """The ssh stand-in: notes its arguments, then runs the remote command (its last
    argument) in libvirtd's mount namespace, under libvirtd's root directory (``-r``:
    entering a mount namespace resets the root to the namespace's, which is not the
    chroot's when the tests run in one)."""
    path = lab.workdir / "ssh"
    path.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {lab.workdir}/ssh.args\n'
        "for last; do :; done\n"
        f'exec nsenter -t "$(cat {lab.workdir}/libvirtd.pid)" -m -r -- sh -c "$last"\n'
    )
    path.chmod(0o755)
    return path


def _pkipath(tls: TlsFiles, directory: Path, ca: Path | None = None) -> Path:
    """A client ``pkipath``: the files under the names libvirt looks for."""
    directory.mkdir()
    shutil.copy(ca or tls.ca, directory / "cacert.pem")
    shutil.copy(tls.client_cert, directory / "clientcert.pem")
    shutil.copy(tls.client_key, directory / "clientkey.pem")
    return directory


def _read(*uris: str) -> list[tuple[str, bool, set[str], str | None]]:
    config = InventoryConfig(name="kvm", kind="libvirt", uri=uris, timeout=15.0)
    return [(s.source, s.healthy, set(s.macs), s.reason) for s in read_all([build(config)])]


def test_ssh_form_reads_the_hosts_domains(virt: tuple[LibvirtdLab, TlsFiles]) -> None:
    """``+ssh://user@host/...?keyfile=`` runs ssh as the user with the key, on the host,
    asking virt-ssh-helper for a read-only connection; the domains come back as one healthy
    inventory."""
    lab, _ = virt
    key = lab.workdir / "id_ed25519"
    uri = (
        f"test+ssh://leasewatch@kvm1.example.net/default?command={_ssh(lab)}"
        f"&keyfile={key}&no_verify=1"
    )
    assert _read(uri) == [("kvm", True, {*MACS.values(), DEFAULT_DOMAIN_MAC}, None)]
    args = (lab.workdir / "ssh.args").read_text().splitlines()
    assert args[args.index("-l") + 1] == "leasewatch"
    assert args[args.index("-i") + 1] == str(key)
    assert "kvm1.example.net" in args
    assert "virt-ssh-helper -r 'test:///default'" in args[-1]  # -r: read-only


def test_tls_form_reads_the_hosts_domains(virt: tuple[LibvirtdLab, TlsFiles]) -> None:
    """``+tls://host:port/...?pkipath=`` verifies the host's certificate against the CA,
    shows the client's, and reads the domains."""
    lab, tls = virt
    assert lab.ns is not None
    forward = LoopbackForwarder(lab.ns, TLS_PORT)
    try:
        pki = _pkipath(tls, lab.workdir / "pki")
        uri = f"test+tls://127.0.0.1:{forward.port}/default?pkipath={pki}"
        assert _read(uri) == [("kvm", True, {*MACS.values(), DEFAULT_DOMAIN_MAC}, None)]
    finally:
        forward.close()


def test_tls_form_with_another_ca_is_unhealthy(virt: tuple[LibvirtdLab, TlsFiles]) -> None:
    """A pkipath whose CA signed neither the host's certificate nor the client's: the host
    is unhealthy, with one line naming the URI and libvirt's reason, so its leases stay
    unknown."""
    lab, tls = virt
    assert lab.ns is not None
    forward = LoopbackForwarder(lab.ns, TLS_PORT)
    try:
        pki = _pkipath(tls, lab.workdir / "stranger", ca=tls.other_ca)
        uri = f"test+tls://127.0.0.1:{forward.port}/default?pkipath={pki}"
        [(source, healthy, macs, reason)] = _read(uri)
    finally:
        forward.close()
    assert (source, healthy, macs) == ("kvm", False, set())
    assert reason is not None and "\n" not in reason
    assert reason.startswith(f"cannot connect to {uri}: ")
    assert "certificate" in reason, reason


def test_a_fleet_of_ssh_and_tls_hosts_is_one_inventory(
    virt: tuple[LibvirtdLab, TlsFiles],
) -> None:
    """One entry listing an ssh host and a TLS host: both answer, one inventory of their
    domains under the entry's name."""
    lab, tls = virt
    assert lab.ns is not None
    forward = LoopbackForwarder(lab.ns, TLS_PORT)
    try:
        ssh = f"test+ssh://root@kvm1.example.net/default?command={_ssh(lab)}&no_verify=1"
        pki = _pkipath(tls, lab.workdir / "pki")
        tls_uri = f"test+tls://127.0.0.1:{forward.port}/default?pkipath={pki}"
        assert _read(ssh, tls_uri) == [("kvm", True, {*MACS.values(), DEFAULT_DOMAIN_MAC}, None)]
    finally:
        forward.close()
