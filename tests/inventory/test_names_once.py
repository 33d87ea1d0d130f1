"""An unhealthy inventory's name appears once in each line that reports it."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import run


def test_failing_inventory_is_named_once_per_line(tmp_path: Path) -> None:
    """``inventory`` and ``report`` say "hv" once per line, not "hv: inventory hv: ..."."""
    (tmp_path / "l.csv").write_text("")
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[servers]]\nname = "kea1"\nkind = "kea"\nleases = "{tmp_path}/l.csv"\n\n'
        '[[inventory]]\nname = "hv"\nkind = "command"\ncommand = ["false"]\n\n'
        f'[state]\npath = "{tmp_path}/state.db"\n'
    )
    listed = run("-c", str(config), "inventory", "--format", "json")
    assert '"reason": "false exited with status 1"' in listed.out
    table = run("-c", str(config), "inventory")
    for result in (table, run("-c", str(config), "report"), run("-c", str(config), "scan")):
        for line in (result.out + result.err).splitlines():
            assert line.count("hv") <= 1, line
