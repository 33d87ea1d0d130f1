"""docs/macpool.md's libvirt examples, run as written against libvirt's test driver."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.cli_helpers import run
from tests.macpool.pool_helpers import pool_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "macpool.md"
BLOCK = re.compile(r"<!-- tested: ([\w-]+) -->\n```sh\n(.*?)```", re.DOTALL)


def snippet(name: str) -> str:
    """The shell block marked ``<!-- tested: name -->`` in docs/macpool.md."""
    blocks: dict[str, str] = dict(BLOCK.findall(DOC.read_text(encoding="utf-8")))
    return blocks[name]


def shell(script: str, config: Path, cwd: Path, uri: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with sh -eu, leasewatch (this venv's) on PATH, the test driver as the
    default libvirt connection."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "LEASEWATCH_CONFIG": str(config),
        "LIBVIRT_DEFAULT_URI": uri,
    }
    return subprocess.run(
        ["sh", "-euc", script], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def taken_by(config: Path) -> dict[str, str]:
    """vm -> MAC of the taken MACs, from mac list."""
    listed = json.loads(run("-c", str(config), "mac", "list", "--format", "json").out)
    return {e["vm"]: e["mac"] for e in listed if e["state"] == "taken"}


def test_virt_install_example_puts_the_taken_mac_on_the_nic(tmp_path: Path) -> None:
    """virt-install with mac=$(leasewatch mac take --vm web1): the domain's NIC has that MAC."""
    config = pool_config(tmp_path)
    (tmp_path / "web1.qcow2").write_bytes(b"")
    shim = tmp_path / "shim"  # virt-install --print-xml: the XML it would define
    shim.mkdir()
    (shim / "virt-install").write_text('#!/bin/sh\nexec /usr/bin/virt-install --print-xml "$@"\n')
    (shim / "virt-install").chmod(0o755)
    wrapped = f'PATH="{shim}:$PATH"\n' + snippet("virt-install")
    done = shell(wrapped, config, tmp_path, "test:///default")
    assert done.returncode == 0, done.stderr
    mac = taken_by(config)["web1"]
    assert f'<mac address="{mac}"/>' in done.stdout
    plain = shell(snippet("virt-install"), config, tmp_path, "test:///default")
    assert plain.returncode == 0 and "Domain creation completed" in plain.stdout, plain.stderr


def test_virsh_define_example_uses_the_taken_mac(tmp_path: Path) -> None:
    """The domain XML example: libvirt defines it, with the MAC taken for web2."""
    config = pool_config(tmp_path)
    done = shell(snippet("virsh-define"), config, tmp_path, "test:///default")
    assert done.returncode == 0 and "Domain 'web2' defined" in done.stdout, done.stderr
    mac = taken_by(config)["web2"]
    assert f"<mac address='{mac}'/>" in (tmp_path / "web2.xml").read_text()


def test_teardown_example_gives_the_macs_back(tmp_path: Path) -> None:
    """teardown web3 reads the VM's MAC with virsh domiflist and gives it back."""
    config = pool_config(tmp_path)
    mac = run("-c", str(config), "mac", "take", "--vm", "web3").out.strip()
    node = tmp_path / "node.xml"
    node.write_text(
        "<node><domain type='test'><name>web3</name><memory unit='MiB'>64</memory>"
        "<os><type>hvm</type></os><devices><interface type='network'>"
        f"<mac address='{mac}'/><source network='default'/></interface></devices></domain>"
        "<network><name>default</name><bridge name='virbr0'/><forward/>"
        "<ip address='198.18.122.1' netmask='255.255.255.0'/></network></node>"
    )
    done = shell(snippet("teardown"), config, tmp_path, f"test://{node}")
    assert done.returncode == 0, done.stderr
    assert f"{mac} returned to the pool (was taken by web3)" in done.stderr
    assert "web3" not in taken_by(config)
