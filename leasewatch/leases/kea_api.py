"""The Kea control API client: one command at a time to a Kea server.

``KeaClient`` speaks Kea's JSON command protocol over both transports Kea offers: the UNIX
control socket of kea-dhcp4 and kea-ctrl-agent's HTTP endpoint. The command set is the same;
only the framing differs (the agent wants ``"service": ["dhcp4"]`` and answers with a list,
one entry per service). See the Kea ARM, "Management API":
https://kea.readthedocs.io/en/kea-2.2.0/arm/ctrl-channel.html. Used to read leases
(``leasewatch.leases.kea``) and to release them (``leasewatch.reaper.kea``).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from leasewatch.config import Secret, ServerConfig
from leasewatch.errors import Error, LeasesError

if TYPE_CHECKING:
    import requests

# Kea's result codes (src/lib/cc/command_interpreter.h): CONTROL_RESULT_*.
RESULT_SUCCESS = 0
RESULT_ERROR = 1
RESULT_UNSUPPORTED = 2
RESULT_EMPTY = 3

# Commands that exist only when a hook library is loaded, and the library to name when the
# server answers "command not supported" (result 2).
_HOOK_FOR_PREFIX = {
    "lease4-": "libdhcp_lease_cmds.so",
    "lease6-": "libdhcp_lease_cmds.so",
    "stat-lease": "libdhcp_stat_cmds.so",
}


_MAX_ANSWER = 256 * 1024 * 1024  # refuse to buffer an answer larger than this


@dataclass(frozen=True, slots=True)
class KeaAnswer:
    """One Kea answer: ``result`` is 0 (success) or 3 (empty); other codes raise."""

    result: int
    text: str
    arguments: Any


class KeaClient:
    """Sends one command at a time to kea-dhcp4, over its UNIX socket or through the agent.

    Errors are raised as ``error`` (``LeasesError`` for reading, ``ReleaseError`` for the
    reaper), one line naming the server and the command; the password never appears.
    """

    def __init__(
        self,
        server: str,
        *,
        control_socket: Path | None = None,
        control_agent: str | None = None,
        username: str | None = None,
        password: Secret | None = None,
        timeout: float = 10.0,
        error: type[Error] = LeasesError,
    ) -> None:
        if (control_socket is None) == (control_agent is None):
            raise error(f"kea server {server!r}: give exactly one of control_socket, control_agent")
        self.server = server
        self.control_socket = control_socket
        self.control_agent = control_agent
        self.username = username
        self.password = password
        self.timeout = timeout
        self.error = error
        self._session: requests.Session | None = None  # created by the first HTTP command

    @classmethod
    def from_config(cls, config: ServerConfig, error: type[Error] = LeasesError) -> KeaClient:
        return cls(
            config.name,
            control_socket=config.control_socket,
            control_agent=config.control_agent,
            username=config.username,
            password=config.password,
            timeout=config.timeout,
            error=error,
        )

    @property
    def where(self) -> str:
        """The endpoint, for messages: the socket path, or the agent's URL without userinfo."""
        if self.control_socket is not None:
            return f"control socket {self.control_socket}"
        return f"control agent {_strip_userinfo(self.control_agent or '')}"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def call(self, command: str, arguments: Mapping[str, Any] | None = None) -> KeaAnswer:
        """Send ``command``; return its answer if the result is 0 or 3, raise otherwise."""
        request: dict[str, Any] = {"command": command}
        if arguments is not None:
            request["arguments"] = dict(arguments)
        if self.control_socket is not None:
            raw = self._call_socket(command, self.control_socket, request)
        else:
            raw = self._call_agent(command, request)
        return self._check(command, raw)

    def _fail(self, command: str, what: str) -> Error:
        return self.error(f"kea server {self.server!r}: {command}: {what}")

    def _check(self, command: str, raw: Any) -> KeaAnswer:
        # The agent answers with a list (one entry per service asked); the socket with a map.
        if isinstance(raw, list):
            if len(raw) != 1:
                raise self._fail(command, f"expected one answer from {self.where}, got {len(raw)}")
            raw = raw[0]
        if not isinstance(raw, dict) or not isinstance(raw.get("result"), int):
            raise self._fail(command, f"unexpected answer from {self.where}: {short_json(raw)}")
        result: int = raw["result"]
        text = str(raw.get("text", "")).replace("\n", " ")
        if result in (RESULT_SUCCESS, RESULT_EMPTY):
            return KeaAnswer(result, text, raw.get("arguments"))
        if result == RESULT_UNSUPPORTED:
            hook = next((h for p, h in _HOOK_FOR_PREFIX.items() if command.startswith(p)), None)
            if hook is not None:
                raise self._fail(
                    command,
                    f"command not supported (Kea: {text!r}); load the hook library {hook} "
                    f'(Dhcp4 "hooks-libraries": [{{"library": ".../kea/hooks/{hook}"}}])',
                )
        raise self._fail(command, f"Kea answered result {result}: {text}")

    # -- UNIX control socket ------------------------------------------------------------
    #
    # No Python library speaks Kea's control socket (kea-shell only speaks HTTP to the agent),
    # so this is done by hand: write the JSON command, then read until the JSON answer is
    # complete. Kea 2.2 closes the connection after answering, but it may send a large answer
    # in several chunks, so we parse whenever the buffer could be a whole document and stop
    # at the first one that parses (or at EOF). One deadline covers connect, send and read.

    def _call_socket(self, command: str, path: Path, request: Mapping[str, Any]) -> Any:
        deadline = time.monotonic() + self.timeout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                sock.settimeout(self.timeout)
                sock.connect(str(path))
            except FileNotFoundError:
                raise self._fail(command, f"{self.where} does not exist") from None
            except ConnectionRefusedError:
                raise self._fail(
                    command, f"{self.where} refused the connection (is kea-dhcp4 running?)"
                ) from None
            except TimeoutError:
                raise self._fail(command, f"{self.where}: connect timed out") from None
            except OSError as exc:
                raise self._fail(command, f"{self.where}: {exc.strerror or exc}") from None
            try:
                sock.sendall(json.dumps(request).encode())
                return self._read_answer(command, sock, deadline)
            except TimeoutError:
                raise self._fail(
                    command, f"no answer from {self.where} within {self.timeout:g}s"
                ) from None
            except OSError as exc:
                raise self._fail(command, f"{self.where}: {exc.strerror or exc}") from None
        finally:
            sock.close()

    def _read_answer(self, command: str, sock: socket.socket, deadline: float) -> Any:
        buffer = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                break
            buffer += chunk
            if len(buffer) > _MAX_ANSWER:
                raise self._fail(command, f"answer from {self.where} exceeds {_MAX_ANSWER} bytes")
            if buffer.rstrip().endswith((b"}", b"]")):
                try:
                    return json.loads(buffer)
                except ValueError:
                    continue  # a chunk boundary fell just after a brace: read on
        if not buffer:
            raise self._fail(command, f"{self.where} closed the connection without an answer")
        try:
            return json.loads(buffer)
        except ValueError:
            raise self._fail(
                command, f"{self.where} sent an incomplete or invalid answer ({len(buffer)} bytes)"
            ) from None

    # -- kea-ctrl-agent over HTTP ---------------------------------------------------------

    def _call_agent(self, command: str, request: Mapping[str, Any]) -> Any:
        import requests  # here, not at the top: every command imports this module (issue 17)

        if self._session is None:
            self._session = requests.Session()
        body = {**request, "service": ["dhcp4"]}
        auth = None
        if self.username is not None:
            auth = (self.username, self.password.reveal() if self.password else "")
        url = self.control_agent or ""
        try:
            response = self._session.post(
                url, json=body, auth=auth, timeout=(self.timeout, self.timeout)
            )
        except requests.Timeout:
            raise self._fail(
                command, f"no answer from {self.where} within {self.timeout:g}s"
            ) from None
        except requests.ConnectionError as exc:
            raise self._fail(command, f"cannot connect to {self.where}: {_reason(exc)}") from None
        except requests.RequestException as exc:
            raise self._fail(command, f"{self.where}: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            who = f"user {self.username!r}" if self.username else "no credentials"
            raise self._fail(command, f"{self.where} refused {who} (HTTP {response.status_code})")
        try:
            return response.json()
        except ValueError:
            raise self._fail(
                command, f"{self.where} answered HTTP {response.status_code} without JSON"
            ) from None


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, short (its str() repeats the whole URL)."""
    inner: BaseException = exc
    while inner.__context__ is not None or inner.__cause__ is not None:
        inner = inner.__cause__ or inner.__context__  # type: ignore[assignment]
    text = str(inner)
    for marker in ("Connection refused", "Name or service not known", "No route to host"):
        if marker in text:
            return marker.lower()
    return type(inner).__name__


def short_json(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
