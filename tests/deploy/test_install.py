"""``make install`` / ``make uninstall`` into temporary roots, as an operator would run them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from leasewatch.config import load

ROOT = Path(__file__).resolve().parents[2]


def make(target: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``make TARGET VAR=value...`` in the checkout."""
    argv = ["make", "--no-print-directory", "-C", str(ROOT), target]
    argv += [f"{key}={value}" for key, value in variables.items()]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)


def files_under(root: Path) -> list[str]:
    """Every file and link below ``root`` (directories left out), relative, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def test_install_with_destdir_then_uninstall_leaves_nothing(tmp_path: Path) -> None:
    """DESTDIR prefixes every path while the link and the unit name the final ones; a
    config already there is kept; uninstall removes the rest."""
    dest = tmp_path / "dest"
    done = make("install", DESTDIR=str(dest))
    assert done.returncode == 0, done.stderr
    link = dest / "usr/local/bin/leasewatch"
    assert link.is_symlink() and str(link.readlink()) == "/opt/leasewatch/bin/leasewatch"
    version = subprocess.run(
        [dest / "opt/leasewatch/bin/leasewatch", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert version.stdout.startswith("leasewatch ")
    unit = (dest / "etc/systemd/system/leasewatch.service").read_text()
    assert "ExecStart=/usr/local/bin/leasewatch -c /etc/leasewatch/leasewatch.toml daemon" in unit
    example = dest / "etc/leasewatch/leasewatch.toml"
    assert example.read_text() == (ROOT / "leasewatch/data/leasewatch.toml").read_text()
    assert load(example, {}).servers  # report-only as shipped: loads with no credential

    example.write_text(example.read_text() + "# mine\n")
    again = make("install", DESTDIR=str(dest))
    assert again.returncode == 0, again.stderr
    assert example.read_text().endswith("# mine\n")  # never overwritten
    assert "kept /etc/leasewatch/leasewatch.toml" in again.stdout

    gone = make("uninstall", DESTDIR=str(dest))
    assert gone.returncode == 0, gone.stderr
    assert files_under(dest) == ["etc/leasewatch/leasewatch.toml"]  # changed: the operator's
    assert "kept /etc/leasewatch/leasewatch.toml (yours now" in gone.stdout


def test_a_leasewatch_that_is_not_ours_is_not_replaced(tmp_path: Path) -> None:
    """An existing $PREFIX/bin/leasewatch (say, pipx's) stops the install with one line."""
    dest = tmp_path / "dest"
    (dest / "usr/local/bin").mkdir(parents=True)
    (dest / "usr/local/bin/leasewatch").write_text("#!/bin/sh\n")
    done = make("install", DESTDIR=str(dest))
    assert done.returncode != 0
    assert "/usr/local/bin/leasewatch exists and is not ours" in done.stderr
    assert not (dest / "opt").exists()


def test_installed_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """Installed with PREFIX-style paths, the unit (ExecStart= at the installed link)
    passes ``systemd-analyze verify`` with nothing to say."""
    assert shutil.which("systemd-analyze"), "make deps installs the systemd package for it"
    places = {
        "PREFIX": str(tmp_path / "usr"),
        "OPT": str(tmp_path / "opt/leasewatch"),
        "SYSCONFDIR": str(tmp_path / "etc"),
        "UNITDIR": str(tmp_path / "units"),
    }
    done = make("install", **places)
    assert done.returncode == 0, done.stderr
    unit = tmp_path / "units/leasewatch.service"
    assert f"ExecStart={tmp_path}/usr/bin/leasewatch -c {tmp_path}/etc/leasewatch/" in (
        unit.read_text()
    )
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(), (
        verify.stdout + verify.stderr
    )
    assert make("uninstall", **places).returncode == 0
    assert files_under(tmp_path) == []
