"""The Kea control API client: one command at a time to a Kea server.

``KeaClient`` speaks Kea's JSON command protocol over both transports Kea offers: the UNIX
control socket of kea-dhcp4 or kea-dhcp6, and HTTP(S) (``control_url``). Over HTTP it
reaches either kea-ctrl-agent (every Kea up to 3.1.7) or, from Kea 2.7.2 on, a daemon's own
HTTP control socket. Both take the same request: the agent wants ``"service": ["dhcp4"]``
(or ``["dhcp6"]``) to forward a command, and runs one without a service itself; the daemon
accepts that key (3.0 ignores it, later releases check that it names the daemon) and, "for
backward compatibility with the Control Agent", wraps its answer in a one-element list as
the agent does. Which service a server is, ``daemon_config`` finds out (or the config's
``service`` says). An authentication or authorization failure differs: HTTP 401 or 403 with a
bare map ``{"result": 401 or 403, "text": ...}`` (Kea's HttpResponseJson generic body; ARM
3.0, "HTTP Command Response Format"). tests/leases/test_kea_contract.py pins each answer and
names the release it comes from. See the Kea ARM, "Management API":
https://kea.readthedocs.io/en/kea-3.0.0/arm/ctrl-channel.html. Used to read leases
(``leasewatch.leases.kea``) and to release them (``leasewatch.reaper.kea``).
"""

from __future__ import annotations

import json
import socket
import ssl
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
# What Kea's HTTP layer puts in "result" when it refuses the request itself (the HTTP status).
_REFUSED = {401: "Unauthorized", 403: "Forbidden"}

# Commands that exist only when a hook library is loaded, and the library to name when the
# server answers "command not supported" (result 2).
_HOOK_FOR_PREFIX = {
    "lease4-": "libdhcp_lease_cmds.so",
    "lease6-": "libdhcp_lease_cmds.so",
    "stat-lease": "libdhcp_stat_cmds.so",
}


_MAX_ANSWER = 256 * 1024 * 1024  # refuse to buffer an answer larger than this

# The DHCP daemons a Kea server may be: the service name an HTTP request carries, and the
# map its config-get answers with.
SERVICES = {"dhcp4": "Dhcp4", "dhcp6": "Dhcp6"}


@dataclass(frozen=True, slots=True)
class KeaAnswer:
    """One Kea answer: ``result`` is 0 (success) or 3 (empty); other codes raise."""

    result: int
    text: str
    arguments: Any


class KeaClient:
    """Sends one command at a time to kea-dhcp4 or kea-dhcp6, over its UNIX socket or HTTP(S).

    ``service`` ("dhcp4", "dhcp6", or None until ``daemon_config`` has chosen it) is what an
    HTTP request names; over the UNIX socket it is never sent (the socket is the daemon's).
    Errors are raised as ``error`` (``LeasesError`` for reading, ``ReleaseError`` for the
    reaper), one line naming the server and the command; the password never appears.
    """

    def __init__(
        self,
        server: str,
        *,
        control_socket: Path | None = None,
        control_url: str | None = None,
        username: str | None = None,
        password: Secret | None = None,
        tls_ca: Path | None = None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        timeout: float = 10.0,
        service: str | None = None,
        error: type[Error] = LeasesError,
    ) -> None:
        if (control_socket is None) == (control_url is None):
            raise error(f"kea server {server!r}: give exactly one of control_socket, control_url")
        self.server = server
        self.control_socket = control_socket
        self.control_url = control_url
        self.username = username
        self.password = password
        self.tls_ca = tls_ca
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.timeout = timeout
        self.service = service
        self.error = error
        self._session: requests.Session | None = None  # created by the first HTTP command

    @classmethod
    def from_config(cls, config: ServerConfig, error: type[Error] = LeasesError) -> KeaClient:
        return cls(
            config.name,
            control_socket=config.control_socket,
            control_url=config.control_url,
            username=config.username,
            password=config.password,
            tls_ca=config.tls_ca,
            tls_cert=config.tls_cert,
            tls_key=config.tls_key,
            timeout=config.timeout,
            service=config.service,
            error=error,
        )

    @property
    def where(self) -> str:
        """The endpoint, for messages: the socket path, or the URL without userinfo."""
        if self.control_socket is not None:
            return f"control socket {self.control_socket}"
        return f"control URL {_strip_userinfo(self.control_url or '')}"

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
            raw = self._call_http(command, request)
        return self._check(command, raw)

    def daemon_config(self) -> tuple[str, Mapping[str, Any]]:
        """``config-get`` of the DHCP daemon behind this client: its service and its
        ``Dhcp4``/``Dhcp6`` map; every later command goes to that service.

        With no ``service`` given, the URL is asked without one: kea-ctrl-agent then answers
        its own config, whose ``control-sockets`` name the daemons it forwards to (measured
        on Kea 2.2; ``CtrlAgentCommandMgr`` runs a command without a service itself). One of
        dhcp4/dhcp6 is the one; both is ambiguous, an error asking for ``service``: the two
        are two servers, each its own ``[[servers]]`` entry. A daemon's own socket (UNIX, or
        HTTP from Kea 2.7.2 on) answers its map at once. Decided on the answer's maps, never
        on Kea's wording: the agent answers result 1 both for a service it has no socket for
        and for one whose daemon is down.
        """
        config = _arguments(self.call("config-get"))
        agent = config.get("Control-agent")
        if isinstance(agent, Mapping) and self.service is None:
            self.service = self._forwarded(agent)
            config = _arguments(self.call("config-get"))
        for service, key in SERVICES.items():
            if not isinstance(config.get(key), Mapping):
                continue
            if self.service not in (None, service):
                raise self._fail(
                    "config-get",
                    f"service = {self.service!r}, but {self.where} is kea-{service} "
                    f"(it answered a {key} config)",
                )
            self.service = service
            return service, config[key]
        raise self._fail("config-get", f"{self.where} answered no Dhcp4 or Dhcp6 map")

    def _forwarded(self, agent: Mapping[str, Any]) -> str:
        """The one DHCP service kea-ctrl-agent has a control socket for."""
        sockets = agent.get("control-sockets")
        names = sorted(set(SERVICES) & set(sockets if isinstance(sockets, Mapping) else ()))
        if len(names) == 1:
            return names[0]
        if names:
            raise self._fail(
                "config-get",
                f"{self.where} is a kea-ctrl-agent in front of both kea-dhcp4 and kea-dhcp6: "
                'set service = "dhcp4" or "dhcp6" (one [[servers]] entry for each)',
            )
        raise self._fail(
            "config-get",
            f"{self.where} is a kea-ctrl-agent with no dhcp4 or dhcp6 control socket",
        )

    def _fail(self, command: str, what: str) -> Error:
        return self.error(f"kea server {self.server!r}: {command}: {what}")

    def _unauthorized(self, command: str, status: int) -> Error:
        who = f"user {self.username!r}" if self.username else "a request without credentials"
        return self._fail(
            command, f"unauthorized: {self.where} refused {who} ({status} {_REFUSED[status]})"
        )

    def _check(self, command: str, raw: Any) -> KeaAnswer:
        # Over HTTP a list (one entry per service asked); the UNIX socket answers a map, and so
        # does HTTP when Kea refuses the request before running it (401/403).
        if isinstance(raw, dict) and raw.get("result") in _REFUSED:
            raise self._unauthorized(command, raw["result"])
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

    # -- HTTP(S): kea-ctrl-agent, or a daemon's own HTTP control socket (2.7.2+) -------

    def _call_http(self, command: str, request: Mapping[str, Any]) -> Any:
        import requests  # here, not at the top: every command imports this module (issue 17)

        if self._session is None:
            self._session = requests.Session()
        # Verification stays on: the system's CAs, or tls_ca when given. Passed with each
        # request, not set on the session: requests lets REQUESTS_CA_BUNDLE override a
        # session's verify (psf/requests#3829), which would drop tls_ca silently.
        verify: str | bool = str(self.tls_ca) if self.tls_ca is not None else True
        cert = None
        if self.tls_cert is not None and self.tls_key is not None:
            cert = (str(self.tls_cert), str(self.tls_key))
        # no service: kea-ctrl-agent runs the command itself (daemon_config's first question)
        body = {**request, "service": [self.service]} if self.service else dict(request)
        auth = None
        if self.username is not None:
            auth = (self.username, self.password.reveal() if self.password else "")
        try:
            response = self._session.post(
                self.control_url or "",
                json=body,
                auth=auth,
                verify=verify,
                cert=cert,
                timeout=(self.timeout, self.timeout),
            )
        except requests.Timeout:
            raise self._fail(
                command, f"no answer from {self.where} within {self.timeout:g}s"
            ) from None
        except requests.exceptions.SSLError as exc:
            raise self._fail(command, f"TLS with {self.where} failed: {_tls_reason(exc)}") from None
        except requests.ConnectionError as exc:
            raise self._fail(command, f"cannot connect to {self.where}: {_reason(exc)}") from None
        except OSError as exc:
            # requests opens tls_ca, tls_cert and tls_key only when it sends
            raise self._fail(command, f"{self.where}: cannot use the TLS files: {exc}") from None
        except requests.RequestException as exc:
            raise self._fail(command, f"{self.where}: {type(exc).__name__}") from None
        if response.status_code in _REFUSED:
            raise self._unauthorized(command, response.status_code)
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


def _tls_reason(exc: BaseException) -> str:
    """Why a TLS handshake failed, in ssl's words (requests wraps them in the whole URL)."""
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {inner.verify_message} (is tls_ca right?)"
        if isinstance(inner, ssl.SSLError):
            return str(inner.reason or type(inner).__name__).lower()
        inner = inner.__cause__ or inner.__context__
    return "handshake failed"


def _arguments(answer: KeaAnswer) -> Mapping[str, Any]:
    return answer.arguments if isinstance(answer.arguments, Mapping) else {}


def short_json(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
