"""Inventory from Proxmox VE through its HTTPS API (proxmoxer, API token auth).

Guests come from ``/cluster/resources?type=vm`` (qemu and lxc, running or stopped: a stopped
guest will start again and want its lease), their MACs from each guest's config
(https://pve.proxmox.com/pve-docs/api-viewer/). Templates (``template: 1``) never boot with
their MAC and are skipped. A qemu ``netN`` line stores the MAC as the value of the NIC model
key (``virtio=BC:24:11:..,bridge=vmbr0``; e1000, vmxnet3, rtl8139, ... alike); an lxc one
as ``hwaddr=``.

proxmoxer itself swallows a body that is not JSON (it returns ``{"errors": <bytes>}``), so
every answer's shape is checked here.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from leasewatch import tls
from leasewatch.config import InventoryConfig, Secret
from leasewatch.errors import InventoryError
from leasewatch.inventory._common import fail, import_sdk, one_line, shown
from leasewatch.inventory.interface import InventorySource
from leasewatch.model import normalize_mac

_NET_KEY = re.compile(r"net\d+")
_NODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
_VMID = re.compile(r"\d+")
# NIC models qemu-server accepts (PVE/QemuServer.pm, $nic_model_list); a model missing here
# is still found when it is the line's first key and its value is a MAC.
_QEMU_MODELS = frozenset(
    {
        "e1000",
        "e1000-82540em",
        "e1000-82544gc",
        "e1000-82545em",
        "e1000e",
        "i82551",
        "i82557b",
        "i82559er",
        "ne2k_isa",
        "ne2k_pci",
        "pcnet",
        "rtl8139",
        "virtio",
        "vmxnet3",
        "macaddr",  # the long form `model=virtio,macaddr=..` the API also accepts
    }
)


class ProxmoxSource(InventorySource):
    """Lists the MACs of the qemu VMs and lxc containers of one Proxmox VE cluster."""

    def __init__(self, config: InventoryConfig) -> None:
        super().__init__(config.name, config.kind, config.networks)
        if not (config.host and config.user and config.token_name) or config.token_value is None:
            raise fail(config.name, "host, user, token_name and token_value are required")
        self.host = config.host
        self.port = config.port or 8006
        self.user = config.user
        self.token_name = config.token_name
        self.token_value: Secret = config.token_value
        self.verify_ssl = config.verify_ssl
        self.tls_ca = config.tls_ca
        self.timeout = config.timeout

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def macs(self) -> frozenset[str]:
        proxmoxer = import_sdk("proxmoxer", "proxmox", self.name)
        requests = import_sdk("requests", "proxmox", self.name)
        with self.translated(proxmoxer, requests):
            return self._read(self.connect(proxmoxer))

    def connect(self, proxmoxer: ModuleType) -> Any:
        """The API client (proxmoxer asks nothing of the host until the first call).

        proxmoxer hands ``verify_ssl`` to requests with each request (its
        ``ProxmoxHttpSession.request``), where ``REQUESTS_CA_BUNDLE`` cannot replace it: a
        CA file's path, or False (``leasewatch.tls``)."""
        return proxmoxer.ProxmoxAPI(
            self.host,
            port=self.port,
            user=self.user,
            token_name=self.token_name,
            token_value=self.token_value.reveal(),
            verify_ssl=tls.requests_verify(self.tls_ca, self.verify_ssl),
            timeout=self.timeout,
        )

    @contextmanager
    def translated(self, proxmoxer: ModuleType, requests: ModuleType) -> Iterator[None]:
        """Calls to the API inside: what proxmoxer and requests raise becomes a one-line
        ``InventoryError`` (no warning per call when verify_ssl is off)."""
        try:
            with self._quiet_insecure(requests):
                yield
        except InventoryError:
            raise
        except tls.CaFileError as exc:
            raise fail(self.name, str(exc)) from None
        except proxmoxer.ResourceException as exc:
            raise fail(self.name, self._http_reason(exc)) from None
        except proxmoxer.AuthenticationError:
            raise fail(self.name, f"{self.where}: authentication failed") from None
        except requests.exceptions.SSLError as exc:
            why = tls.reason(exc, self.tls_ca, can_skip=True) or "TLS failure"
            raise fail(self.name, f"{self.where}: {why}") from None
        except requests.exceptions.Timeout:
            raise fail(self.name, f"{self.where}: timed out after {self.timeout:g}s") from None
        except requests.exceptions.ConnectionError as exc:
            raise fail(self.name, f"{self.where}: cannot connect: {_root_reason(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise fail(self.name, f"{self.where}: {type(exc).__name__}") from None

    @contextmanager
    def _quiet_insecure(self, requests: ModuleType) -> Iterator[None]:
        """With verify_ssl = false the operator chose an unverified host: no warning per call."""
        with warnings.catch_warnings():
            if not self.verify_ssl:
                warnings.simplefilter(
                    "ignore", requests.packages.urllib3.exceptions.InsecureRequestWarning
                )
            yield

    def _read(self, api: Any) -> frozenset[str]:
        guests = api.cluster.resources.get(type="vm")
        if not isinstance(guests, list):
            raise self.malformed("/cluster/resources")
        found: set[str] = set()
        for guest in guests:
            if not isinstance(guest, Mapping):
                raise self.malformed("/cluster/resources")
            kind, node, vmid = guest.get("type"), guest.get("node"), guest.get("vmid")
            if kind not in ("qemu", "lxc"):
                continue  # type=vm lists only guests; anything else is not ours to judge
            # both end up in a URL path: only PVE's own node-name and vmid forms are accepted
            if not (isinstance(node, str) and _NODE.fullmatch(node)) or not _VMID.fullmatch(
                str(vmid)
            ):
                raise self.malformed("/cluster/resources")
            if guest.get("template") in (1, "1", True):
                continue
            path = f"/nodes/{node}/{kind}/{vmid}/config"
            config = api.nodes(node).get(kind, vmid, "config")
            if not isinstance(config, Mapping):
                raise self.malformed(path)
            found |= self._guest_macs(path, str(kind), config)
        return frozenset(found)

    def _guest_macs(self, path: str, kind: str, config: Mapping[str, Any]) -> set[str]:
        found: set[str] = set()
        for key, value in config.items():
            if not _NET_KEY.fullmatch(str(key)):
                continue
            if not isinstance(value, str):
                raise self.malformed(f"{path} {key}")
            raw = _mac_of(kind, value)
            mac = normalize_mac(raw) if raw is not None else None
            if mac is None:
                raise fail(
                    self.name, f"{self.where}: {path} {key}: no MAC address in {shown(value)}"
                )
            found.add(mac)
        return found

    def malformed(self, path: str) -> InventoryError:
        return fail(self.name, f"{self.where}: malformed answer from {path}")

    def _http_reason(self, exc: Any) -> str:
        status = getattr(exc, "status_code", "?")
        if status == 401:
            # PVE answers a refused token (wrong value, expired, wrong user) with 401
            return f"{self.where}: authentication failed for token {self.user}!{self.token_name}"
        if status == 403:
            return (
                f"{self.where}: permission denied for token {self.user}!{self.token_name}"
                " (needs VM.Audit)"
            )
        message = getattr(exc, "status_message", None) or ""
        return f"{self.where}: HTTP {status} {one_line(str(message))}".rstrip()


def _mac_of(kind: str, line: str) -> str | None:
    """The MAC in a ``netN`` value, or None."""
    pairs = [item.split("=", 1) for item in line.split(",") if "=" in item]
    if kind == "lxc":
        return next((v for k, v in pairs if k.strip() == "hwaddr"), None)
    for key, value in pairs:
        if key.strip() in _QEMU_MODELS and normalize_mac(value) is not None:
            return value
    # a NIC model newer than our list: qemu-server always writes the model first
    if pairs and normalize_mac(pairs[0][1]) is not None:
        return pairs[0][1]
    return None


def _root_reason(exc: BaseException) -> str:
    """The innermost cause's message: requests wraps urllib3 wraps socket/ssl errors."""
    inner: BaseException = exc
    seen = 0
    while seen < 10:
        nxt = getattr(inner, "reason", None)
        if isinstance(nxt, BaseException):
            inner = nxt
        elif inner.__cause__ is not None:
            inner = inner.__cause__
        elif inner.args and isinstance(inner.args[0], BaseException):
            inner = inner.args[0]
        else:
            break
        seen += 1
    verify = getattr(inner, "verify_message", None)
    if verify:
        return f"certificate verify failed: {verify}"
    strerror = getattr(inner, "strerror", None)
    if strerror:
        return str(strerror)
    return one_line(str(inner), 160)
