"""A real HTTP webhook sink on loopback, and sockets that refuse or never answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.alerts.webhook_sink import Sink, running_sink


@pytest.fixture
def sink() -> Iterator[Sink]:
    """A webhook receiver on a free loopback port, shut down after the test."""
    with running_sink() as receiver:
        yield receiver


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused, and nobody can take it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()
