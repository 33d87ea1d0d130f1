"""The names dhcpd 4.4 knows in dhcpd.conf: option spaces, options, parameters.

dhcpd rejects an option it does not know ("unknown option dhcp.foo") and a parameter it
does not know ("semicolon expected"): so must leasewatch, or a typo reads as a healthy
config. These are the names of dhcp-options(5) and dhcpd.conf(5), as dhcpd 4.4.3's option
tables hold them (common/tables.c, server/stables.c); a config defines more with
``option space`` and ``option NAME code N = TYPE``.
"""

# ruff: noqa: SIM905 - long name lists read and diff better as words than as quoted items

from __future__ import annotations

# space dhcp (dhcp-options(5))
DHCP_OPTIONS = frozenset(
    """
    all-subnets-local arp-cache-timeout associated-ip auto-config bcms-controller-address
    bcms-controller-names boot-size bootfile-name broadcast-address
    client-last-transaction-time cookie-servers default-ip-ttl default-tcp-ttl default-url
    dhcp-client-identifier dhcp-lease-time dhcp-max-message-size dhcp-message
    dhcp-message-type dhcp-option-overload dhcp-parameter-request-list dhcp-rebinding-time
    dhcp-renewal-time dhcp-requested-address dhcp-server-identifier domain-name
    domain-name-servers domain-search extensions-path finger-server font-servers fqdn
    geoconf-civic host-name ieee802-3-encapsulation ien116-name-servers impress-servers
    interface-mtu ip-forwarding ipv4-address-andsf irc-server loader-configfile
    loader-pathprefix loader-reboottime log-servers lpr-servers mask-supplier
    max-dgram-reassembly merit-dump mobile-ip-home-agent name-service-search nds-context
    nds-servers nds-tree-name netbios-dd-server netbios-name-servers netbios-node-type
    netbios-scope netinfo-server-address netinfo-server-tag nis-domain nis-servers
    nisplus-domain nisplus-servers nntp-server non-local-source-routing ntp-servers
    nwip-domain nwip-suboptions option-6rd path-mtu-aging-timeout path-mtu-plateau-table
    pcode perform-mask-discovery policy-filter pop-server pxe-client-id pxe-interface-id
    pxe-system-type pxe-undefined-1 pxe-undefined-2 pxe-undefined-3 pxe-undefined-4
    pxe-undefined-5 pxe-undefined-6 pxe-undefined-7 pxe-undefined-8 pxelinux-magic
    rdnss-selection relay-agent-information resource-location-servers root-path
    router-discovery router-solicitation-address routers sip-ua-cs-domains
    slp-directory-agent slp-service-scope smtp-server static-routes
    streettalk-directory-assistance-server streettalk-server subnet-mask subnet-selection
    swap-server tcode tcp-keepalive-garbage tcp-keepalive-interval tftp-server-address
    tftp-server-name time-offset time-servers trailer-encapsulation uap-servers user-class
    v4-captive-portal v4-portparams v6-only-preferred vendor-class-identifier
    vendor-encapsulated-options vivco vivso www-server x-display-manager
    """.split()
)


# space server: the parameters of dhcpd.conf(5), written with no 'option' before them
SERVER_OPTIONS = frozenset(
    """
    abandon-lease-time adaptive-lease-time-threshold allow-booting allow-bootp
    always-broadcast always-reply-rfc1048 authoritative bind-local-address6
    boot-unknown-clients check-secs-byte-order client-updates ddns-domainname
    ddns-dual-stack-mixed-mode ddns-guard-id-must-match ddns-hostname ddns-local-address4
    ddns-local-address6 ddns-other-guard-is-dynamic ddns-rev-domainname ddns-ttl
    ddns-update-style ddns-updates declines default-lease-time delayed-ack
    dhcp-cache-threshold dhcpv6-lease-file-name dhcpv6-pid-file-name dhcpv6-set-tee-times
    do-forward-updates do-reverse-updates dont-use-fsync duplicates dynamic-bootp
    dynamic-bootp-lease-cutoff dynamic-bootp-lease-length echo-client-id filename fqdn-reply
    get-lease-hostnames ignore-client-uids infinite-is-reserved ldap-base-dn ldap-debug-file
    ldap-dhcp-server-cn ldap-gssapi-keytab ldap-gssapi-principal ldap-init-retry ldap-method
    ldap-password ldap-port ldap-referrals ldap-server ldap-ssl ldap-tls-ca-dir
    ldap-tls-ca-file ldap-tls-cert ldap-tls-ciphers ldap-tls-crlcheck ldap-tls-key
    ldap-tls-randfile ldap-tls-reqcert ldap-username lease-file-name leasequery
    limit-addrs-per-ia limit-prefs-per-ia limited-broadcast-address local-address
    local-address6 local-port log-facility log-threshold-high log-threshold-low
    max-ack-delay max-lease-time min-lease-time min-secs next-server omapi-key omapi-port
    one-lease-per-client persist-eui-64-leases pid-file-name ping-check ping-cltt-secs
    ping-timeout ping-timeout-ms preferred-lifetime prefix-length-mode release-on-roam
    remote-port server-id-check server-name site-option-space stash-agent-options
    update-conflict-detection update-optimization update-static-leases use-eui-64
    use-host-decl-names use-lease-addr-for-default-route vendor-option-space
    """.split()
)


# space agent: relay agent sub-options
AGENT_OPTIONS = frozenset(
    """
    DOCSIS-device-class agent-id circuit-id link-selection relay-port remote-id
    """.split()
)


# space fqdn
FQDN_OPTIONS = frozenset(
    """
    domainname encoded fqdn hostname no-client-update rcode1 rcode2 server-update
    """.split()
)


# space nwip
NWIP_OPTIONS = frozenset(
    """
    autoretries autoretry-secs illegal-1 illegal-2 illegal-3 illegal-4 nearest-nwip-server
    nsq-broadcast nwip-1-1 preferred-dss primary-dss
    """.split()
)


# space isc
ISC_OPTIONS = frozenset(
    """
    media update-assist
    """.split()
)


# space vsio
VSIO_OPTIONS = frozenset(
    """
    isc
    """.split()
)

# the dhcp6 option space (dhcpv6_options in common/tables.c), as Debian's dhcpd 4.4.3 is
# built: each name checked with ``dhcpd -6 -t`` (auth, user-class, vendor-class are not)
DHCP6_OPTIONS = frozenset(
    """
    client-id server-id ia-na ia-ta ia-addr oro preference elapsed-time relay-msg unicast
    status-code rapid-commit vendor-opts interface-id reconf-msg reconf-accept
    sip-servers-names sip-servers-addresses name-servers domain-search ia-pd ia-prefix
    nis-servers nisp-servers nis-domain-name nisp-domain-name sntp-servers info-refresh-time
    bcms-server-d bcms-server-a geoconf-civic remote-id subscriber-id fqdn pana-agent
    new-posix-timezone new-tzdb-timezone ero lq-query client-data clt-time lq-relay-data
    lq-client-link v6-lost capwap-ac-v6 relay-id v6-access-domain sip-ua-cs-list bootfile-url
    bootfile-param client-arch-type nii aftr-name erp-local-domain-name rdnss-selection
    client-linklayer-addr link-address solmax-rt inf-max-rt dhcpv4-msg dhcp4-o-dhcp6-server
    v6-captive-portal relay-source-port ipv6-address-andsf
    """.split()
)
# the spaces dhcpd has before a config declares more; None: any name (filled at run time)
SPACES: dict[str, frozenset[str] | None] = {
    "dhcp": DHCP_OPTIONS,
    "server": SERVER_OPTIONS,
    "agent": AGENT_OPTIONS,
    "fqdn": FQDN_OPTIONS,
    "nwip": NWIP_OPTIONS,
    "isc": ISC_OPTIONS,
    "vsio": VSIO_OPTIONS,
    "vendor-class": None,
    "vendor": None,
    "dhcp6": DHCP6_OPTIONS,
    "isc6": None,
}

# statements dhcpd's executable-statement parser knows (parse_executable_statement in
# common/parse.c): valid anywhere, in if/elsif/else and on bodies too
EXECUTABLE = frozenset(
    """
    if add break send supersede option allow deny ignore default prepend append on switch
    define set unset eval execute return log parse-vendor-option zone key db-time-format
    """.split()
)
# declarations and parameters only the configuration parser knows (parse_statement in
# server/confpars.c), besides the ones leasewatch reads itself
DECLARATIONS = frozenset(
    """
    vendor-class user-class class subclass hardware fixed-address not authoritative
    server-identifier failover server-duid lease-id-format
    """.split()
)
# what only a DHCPv6 configuration holds
V6 = frozenset("subnet6 range6 prefix6 pool6 fixed-address6 fixed-prefix6".split())
