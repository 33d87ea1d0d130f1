"""Option and parameter values as dhcpd parses them, for the value types most options use.

dhcpd checks every value against its option's format (``parse_option_token`` in
common/parse.c): an address octet of 300, a boolean written ``yes``, text without quotes
or a second value where one is expected (a missing ``;``: the next statement reads as more
of the value) stop it. The formats here are dhcpd 4.4.3's, for the options of spaces dhcp
and server whose format is one of: ``I`` an IPv4 address or host name, ``L``/``S``/``B``
unsigned 32/16/8-bit numbers, ``l`` a signed one, ``T`` a lease time (a number or
``infinite``), ``f`` a boolean, ``t`` text; ``A`` after one: a comma-separated list.
Values of other formats, of other spaces and written as expressions (``= ...``) are not
checked.
"""

# ruff: noqa: SIM905 - long name lists read and diff better as words than as quoted items

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from leasewatch.leases.dhcpd_syntax import parse_ipv4

DHCP_FORMATS: dict[str, str] = {
    **dict.fromkeys(
        """
        auto-config default-ip-ttl default-tcp-ttl dhcp-message-type
        dhcp-option-overload netbios-node-type
        """.split(),
        "B",
    ),
    **dict.fromkeys(
        """
        dhcp-parameter-request-list
        """.split(),
        "BA",
    ),
    **dict.fromkeys(
        """
        broadcast-address dhcp-requested-address dhcp-server-identifier
        router-solicitation-address subnet-mask subnet-selection swap-server
        """.split(),
        "I",
    ),
    **dict.fromkeys(
        """
        associated-ip bcms-controller-address cookie-servers domain-name-servers
        finger-server font-servers ien116-name-servers impress-servers
        ipv4-address-andsf irc-server log-servers lpr-servers mobile-ip-home-agent
        nds-servers netbios-dd-server netbios-name-servers netinfo-server-address
        nis-servers nisplus-servers nntp-server ntp-servers pop-server
        resource-location-servers routers smtp-server
        streettalk-directory-assistance-server streettalk-server tftp-server-address
        time-servers www-server x-display-manager
        """.split(),
        "IA",
    ),
    **dict.fromkeys(
        """
        arp-cache-timeout client-last-transaction-time dhcp-lease-time
        dhcp-rebinding-time dhcp-renewal-time loader-reboottime
        path-mtu-aging-timeout tcp-keepalive-interval v6-only-preferred
        """.split(),
        "L",
    ),
    **dict.fromkeys(
        """
        boot-size dhcp-max-message-size interface-mtu max-dgram-reassembly
        """.split(),
        "S",
    ),
    **dict.fromkeys(
        """
        name-service-search path-mtu-plateau-table pxe-system-type
        """.split(),
        "SA",
    ),
    **dict.fromkeys(
        """
        all-subnets-local ieee802-3-encapsulation ip-forwarding mask-supplier
        non-local-source-routing perform-mask-discovery router-discovery
        tcp-keepalive-garbage trailer-encapsulation
        """.split(),
        "f",
    ),
    **dict.fromkeys(
        """
        time-offset
        """.split(),
        "l",
    ),
    **dict.fromkeys(
        """
        bootfile-name default-url dhcp-message domain-name extensions-path host-name
        loader-configfile loader-pathprefix merit-dump nds-context nds-tree-name
        netbios-scope netinfo-server-tag nis-domain nisplus-domain nwip-domain pcode
        root-path tcode tftp-server-name uap-servers user-class v4-captive-portal
        """.split(),
        "t",
    ),
}

SERVER_FORMATS: dict[str, str] = {
    **dict.fromkeys(
        """
        adaptive-lease-time-threshold dhcp-cache-threshold log-threshold-high
        log-threshold-low min-secs
        """.split(),
        "B",
    ),
    **dict.fromkeys(
        """
        ddns-local-address4 limited-broadcast-address local-address next-server
        """.split(),
        "I",
    ),
    **dict.fromkeys(
        """
        dynamic-bootp-lease-length ldap-init-retry ldap-port limit-addrs-per-ia
        limit-prefs-per-ia max-ack-delay
        """.split(),
        "L",
    ),
    **dict.fromkeys(
        """
        delayed-ack local-port omapi-port remote-port
        """.split(),
        "S",
    ),
    **dict.fromkeys(
        """
        abandon-lease-time ddns-ttl default-lease-time dynamic-bootp-lease-cutoff
        max-lease-time min-lease-time ping-cltt-secs ping-timeout ping-timeout-ms
        preferred-lifetime
        """.split(),
        "T",
    ),
    **dict.fromkeys(
        """
        allow-booting allow-bootp always-broadcast always-reply-rfc1048
        authoritative bind-local-address6 boot-unknown-clients check-secs-byte-order
        client-updates ddns-dual-stack-mixed-mode ddns-guard-id-must-match
        ddns-other-guard-is-dynamic ddns-updates declines dhcpv6-set-tee-times
        do-forward-updates do-reverse-updates dont-use-fsync duplicates
        dynamic-bootp echo-client-id fqdn-reply get-lease-hostnames
        ignore-client-uids infinite-is-reserved ldap-referrals leasequery
        one-lease-per-client persist-eui-64-leases ping-check release-on-roam
        server-id-check stash-agent-options update-conflict-detection
        update-optimization update-static-leases use-eui-64 use-host-decl-names
        use-lease-addr-for-default-route
        """.split(),
        "f",
    ),
    **dict.fromkeys(
        """
        ddns-domainname ddns-hostname ddns-rev-domainname dhcpv6-lease-file-name
        dhcpv6-pid-file-name filename ldap-base-dn ldap-debug-file
        ldap-dhcp-server-cn ldap-gssapi-keytab ldap-gssapi-principal ldap-password
        ldap-server ldap-tls-ca-dir ldap-tls-ca-file ldap-tls-cert ldap-tls-ciphers
        ldap-tls-key ldap-tls-randfile ldap-username lease-file-name pid-file-name
        server-name
        """.split(),
        "t",
    ),
}

_BITS = {"L": 32, "l": 32, "T": 32, "S": 16, "B": 8}
_BOOLEANS = frozenset({"true", "false", "on", "off", "ignore"})
_WHAT = {
    "I": "an IPv4 address or host name",
    "L": "a number",
    "l": "a number",
    "T": "a number or 'infinite'",
    "S": "a number",
    "B": "a number",
    "f": "true, false, on, off or ignore",
    "t": "a quoted string",
}


class Value(Protocol):
    """One token of a value: what ``check`` needs (``dhcpd_conf.Token`` is one)."""

    @property
    def kind(self) -> str: ...

    @property
    def text(self) -> str: ...


V = TypeVar("V", bound=Value)


def _number(text: str, bits: int) -> bool:
    try:
        value = int(text, 0)
    except ValueError:
        try:
            value = int(text, 10)  # leading zeros: decimal to dhcpd
        except ValueError:
            return False
    return abs(value) < 1 << bits


def _one(kind: str, token: Value) -> bool:
    if kind == "t":
        return token.kind == "string"
    if token.kind != "word":
        return False
    text = token.text
    if kind == "I":
        # a token of digits and dots is an address to dhcpd; anything else a host name
        return parse_ipv4(text) is not None or not all(c.isdigit() or c == "." for c in text)
    if kind == "f":
        return text.lower() in _BOOLEANS
    if kind == "T" and text.lower() == "infinite":
        return True
    return _number(text, _BITS[kind])


def check(fmt: str, values: Sequence[V]) -> tuple[V | None, str] | None:
    """Where ``values`` (the tokens after the option name, up to ``;``) break ``fmt``: the
    token (None: the value ended too early) and what was expected there; None if fine."""
    if values and values[0].text == "=":
        return None  # an expression: not checked
    kind, many = fmt[0], fmt.endswith("A")
    expected = _WHAT[kind]
    i = 0
    while True:
        if i >= len(values):
            return None, expected
        if not _one(kind, values[i]):
            return values[i], expected
        i += 1
        if i == len(values):
            return None
        if not many or values[i].text != ",":
            return values[i], "';'" if not many else "',' or ';'"
        i += 1
