"""Kea: page through many leases over the control socket, and split the time.

``python -m bench`` runs this after the ISC files: a real kea-dhcp4 (API only: no
interface, so no DHCP socket and no traffic) loads a generated memfile of ``count`` leases
in 198.18.0.0/15, and leasewatch reads them with ``lease4-get-page`` as ``report`` does.
The split: the whole read, and how much of it is ours (JSON decoding of the answers, and
building the leases), measured again on the very answers Kea sent. The rest is Kea
(answering each page) and the socket.
"""

from __future__ import annotations

import json
import socket
import tempfile
import time
from collections.abc import Mapping
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from lab.kea import running_kea
from leasewatch.leases.kea import lease_from_api, read_leases
from leasewatch.leases.kea_api import KeaClient

NETWORK = "198.18.0.0/15"
FIRST = IPv4Address("198.18.0.10")
LAST = IPv4Address("198.19.255.250")
HEADER = (
    "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,"
    "state,user_context\n"
)


def write_memfile(path: Path, count: int, now: int) -> None:
    """``count`` active leases of one day, one per address from FIRST up."""
    if count > int(LAST) - int(FIRST) + 1:
        raise ValueError(f"{count} leases do not fit in {FIRST}-{LAST}")
    rows = []
    for n in range(count):
        mac = ":".join(f"{b:02x}" for b in (0x52, 0x54, 0, n >> 16 & 255, n >> 8 & 255, n & 255))
        rows.append(f"{FIRST + n},{mac},,86400,{now + 3600 + n % 80000},1,0,0,vm-{n},0,\n")
    path.write_text(HEADER + "".join(rows), encoding="ascii")


class RecordingClient(KeaClient):
    """A KeaClient that keeps each raw answer, to time our decoding of it afterwards."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[bytes] = []

    def _read_answer(self, command: str, sock: socket.socket, deadline: float) -> Any:
        buffer = bytearray()
        sock.settimeout(max(deadline - time.monotonic(), 0.1))
        while chunk := sock.recv(1 << 20):  # kea-dhcp4 closes the connection after answering
            buffer += chunk
        self.answers.append(bytes(buffer))
        return json.loads(buffer)


def measure(count: int = 100_000, page_size: int = 1000, runs: int = 3) -> dict[str, Any]:
    """Median of ``runs`` full reads of ``count`` leases; the split of the median run."""
    now = int(time.time())
    with tempfile.TemporaryDirectory(prefix="leasewatch-bench-kea-") as tmp:
        root = Path(tmp)
        write_memfile(root / "kea-leases4.csv", count, now)
        subnets = {
            "subnet4": [
                {"id": 1, "subnet": NETWORK, "pools": [{"pool": f"{FIRST} - {LAST}"}]},
            ]
        }
        with running_kea(root, subnets=subnets, valid_lifetime=86400, start_timeout=60) as kea:
            results = []
            for _ in range(runs):
                client = RecordingClient("bench", control_socket=kea.socket_path, timeout=60)
                start = time.perf_counter()
                leases = read_leases(client, page_size)
                total = time.perf_counter() - start
                if len(leases) != count:
                    raise SystemExit(f"kea: read {len(leases)} leases, expected {count}")
                results.append((total, client.answers))
    results.sort(key=lambda r: r[0])
    total, answers = results[len(results) // 2]
    start = time.perf_counter()
    decoded = [json.loads(a) for a in answers]
    decode = time.perf_counter() - start
    start = time.perf_counter()
    for answer in decoded:
        args = answer.get("arguments") if isinstance(answer, Mapping) else None
        for item in (args or {}).get("leases", []):
            lease_from_api("bench", item)
    build = time.perf_counter() - start
    ours = decode + build
    return {
        "leases": count,
        "page_size": page_size,
        "pages": len(answers),
        "answer_mb": sum(len(a) for a in answers) / 2**20,
        "runs": runs,
        "median_s": total,
        "min_s": results[0][0],
        "max_s": results[-1][0],
        "ours_s": ours,
        "ours_json_s": decode,
        "ours_leases_s": build,
        "kea_and_socket_s": total - ours,
        "ours_share": ours / total,
    }


def print_result(r: Mapping[str, Any]) -> None:
    print(
        f"\nkea: {r['leases']} leases in {r['pages']} pages of {r['page_size']} over the "
        f"control socket ({r['answer_mb']:.0f} MB of JSON): {r['median_s']:.2f} s "
        f"(min {r['min_s']:.2f}, max {r['max_s']:.2f})\n"
        f"     kea-dhcp4 and the socket {r['kea_and_socket_s']:.2f} s, "
        f"leasewatch {r['ours_s']:.2f} s ({r['ours_share']:.0%}: JSON {r['ours_json_s']:.2f} s, "
        f"leases {r['ours_leases_s']:.2f} s)"
    )


if __name__ == "__main__":
    print_result(measure())
