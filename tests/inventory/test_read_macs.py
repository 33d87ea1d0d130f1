"""read_macs, the streamed inventory reader: the bulk fast path reads what the line path reads."""

from __future__ import annotations

import io
import random

import pytest

from leasewatch.errors import InventoryError
from leasewatch.inventory._common import read_macs
from leasewatch.macset import MacSet, mac_text

CHUNKS = (1, 7, 18, 64, 4096, 1 << 20)


def _listing(rng: random.Random, lines: int) -> tuple[bytes, set[str]]:
    """Mostly plain lines, with every other spelling, comments and blanks mixed in."""
    out, expected = [], set()
    for _ in range(lines):
        mac = mac_text(rng.randrange(1 << 48))
        expected.add(mac)
        kind = rng.random()
        if kind < 0.8:
            out.append(mac)
        elif kind < 0.85:
            out.append(mac.upper() + "\r")
        elif kind < 0.9:
            out.append("  " + mac.replace(":", "-") + "  # web")
        elif kind < 0.95:
            out.append(mac.replace(":", "")[:4] + "." + mac.replace(":", "")[4:8] + ".")
            out[-1] += mac.replace(":", "")[8:]
        else:
            out.append(mac)
            out.append(rng.choice(["", "# a comment", "   "]))
    return ("\n".join(out)).encode(), expected


@pytest.mark.parametrize("chunk", CHUNKS)
def test_every_chunk_size_reads_the_same_set(chunk: int) -> None:
    """Whatever the chunk size, mixed listings give exactly their MACs (with or without a
    final newline)."""
    rng = random.Random(chunk)
    for final in (b"", b"\n"):
        text, expected = _listing(rng, 3000)
        got = read_macs(io.BytesIO(text + final), "cmdb", "export", chunk=chunk)
        assert isinstance(got, MacSet)
        assert got == expected


@pytest.mark.parametrize("chunk", CHUNKS)
def test_a_bad_line_has_the_same_number_at_every_chunk_size(chunk: int) -> None:
    """Line numbers count across chunks, on the fast path and the slow one alike."""
    lines = [mac_text(n) for n in range(5000)]
    lines[4321] = "52:54:00:zz:00:01"
    text = ("\n".join(lines) + "\n").encode()
    with pytest.raises(InventoryError) as info:
        read_macs(io.BytesIO(text), "cmdb", "export", chunk=chunk)
    assert str(info.value) == (
        "inventory cmdb: export line 4322: expected a MAC address, got '52:54:00:zz:00:01'"
    )


def test_the_bulk_path_keeps_every_bit() -> None:
    """Extremes of the 48-bit range and mixed case survive the block conversion."""
    macs = ["00:00:00:00:00:00", "FF:FF:FF:FF:FF:FF", "80:00:00:00:00:01", "aB:cD:eF:01:23:45"]
    got = read_macs(io.BytesIO(("\n".join(macs) + "\n").encode()), "cmdb", "export")
    assert sorted(got) == sorted(m.lower() for m in macs)


def test_misplaced_colons_are_no_mac() -> None:
    """Seventeen characters with colons in the wrong places are a bad line, not a MAC."""
    with pytest.raises(InventoryError, match="line 2: expected a MAC address"):
        read_macs(io.BytesIO(b"52:54:00:00:00:01\n5254:00:00:00:0:01\n"), "cmdb", "export")
